"""End-to-end fixtures: the real app on a real waitress server on 127.0.0.1 (port 0), over
the real store on SQLite and PostgreSQL, spoken to with plain ``http.client``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from api.activity import ActivityRecorder
from api.app import create_app
from api.server import ScimServer, bind_socket
from store.config import RateLimitSettings
from store.context import Store, utc_now
from tests.http_client import SCIM_JSON, Client, Reply
from tests.support import default_token

__all__ = ["SCIM_JSON", "Client", "Reply"]

OKTA_AGENT = "Okta SCIM Client 1.0.0"


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
    # The default connection's IdP: it sees what a test seeds through the store's services.
    token = default_token(live_store, "Okta SCIM", rate_limit=1_000_000).secret
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
