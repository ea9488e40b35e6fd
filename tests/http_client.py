"""A keep-alive HTTP client for tests and the benchmark that talk to a real server on
127.0.0.1, as an IdP's provisioning client would. Not thread-safe: one per client thread."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

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
    """One connection to ``base_url`` (paths are relative to its path)."""

    def __init__(self, base_url: str, token: str | None, user_agent: str,
                 content_type: str = SCIM_JSON, timeout: float = 30.0) -> None:  # fmt: skip
        parts = urlsplit(base_url)
        self.prefix = parts.path.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self.user_agent = user_agent
        self.content_type = content_type
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(self, method: str, path: str, body: Any = None, *,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
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
                found = {k.lower(): v for k, v in response.getheaders()}
                if found.get("connection", "").lower() == "close":
                    self.close()
                return Reply(response.status, found, payload)
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
