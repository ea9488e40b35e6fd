"""End-to-end fixtures: the real app on a real waitress server on 127.0.0.1 (port 0), over
the real store on SQLite and PostgreSQL, spoken to with plain ``http.client``."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from api.activity import ActivityRecorder
from api.app import create_app
from api.server import ScimServer, bind_socket
from store.config import RateLimitSettings
from store.context import Store, utc_now
from store.services.tokens import issue_token

OKTA_AGENT = "Okta SCIM Client 1.0.0"
SCIM_JSON = "application/scim+json"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Client:
    """One IdP connection (keep-alive), as a provisioning client holds it. Not thread-safe:
    each client thread makes its own."""

    def __init__(self, base_url: str, token: str | None, user_agent: str,
                 content_type: str = SCIM_JSON) -> None:  # fmt: skip
        parts = urlsplit(base_url)
        self.prefix = parts.path.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self.user_agent = user_agent
        self.content_type = content_type
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self._conn

    def request(self, method: str, path: str, body: Any = None, *,
                params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> Reply:  # fmt: skip
        url = self.prefix + path + ("?" + urlencode(params) if params else "")
        sent = {"User-Agent": self.user_agent, "Accept": SCIM_JSON}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent["Content-Type"] = self.content_type
        sent.update(headers or {})
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, url, body=data, headers=sent)
                response = conn.getresponse()
                payload = response.read()
                return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                             payload)  # fmt: skip
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: reconnect once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>
    base_url: str  # the SCIM Base URL
    token: str
    store: Store
    recorder: ActivityRecorder

    def client(self, user_agent: str = OKTA_AGENT, token: str | None = "",
               content_type: str = SCIM_JSON) -> Client:  # fmt: skip
        return Client(self.base_url, self.token if token == "" else token, user_agent,
                      content_type)  # fmt: skip


@pytest.fixture
def live(store: Store) -> Iterator[LiveServer]:
    sock = bind_socket("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # A burst this large keeps GCRA's tolerance wide: with 8 threads a request may read the
    # clock well before it gets the bucket, and these tests are not about throttling.
    limits = RateLimitSettings(requests_per_minute=60, burst=1_000_000)
    settings = replace(store.settings, api=replace(store.settings.api, public_url=url),
                       rate_limit=limits)  # fmt: skip
    live_store = replace(store, settings=settings, clock=utc_now)
    recorder = ActivityRecorder(live_store, flush_seconds=0.2).start()
    server = ScimServer(create_app(live_store, recorder=recorder), sock, threads=8).start()
    token = issue_token(live_store, "Okta SCIM", "operator:test", rate_limit=1_000_000).secret
    try:
        yield LiveServer(url, settings.scim_base_url, token, live_store, recorder)
    finally:
        server.stop()
        recorder.close()


def error_of(reply: Reply, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.raw[:500])
    assert reply.header("content-type") == SCIM_JSON
    body = reply.json
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body
