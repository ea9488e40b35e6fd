"""``GET /healthz``: is this process up and is its database reachable? No authentication,
no secrets, nothing about users: a load balancer or systemd probe calls it. It names the
release (``version``) so an operator can see which one each process runs.

``GET /livez``: is this process serving at all? It touches no database, so a database outage
(which ``/healthz`` reports) never makes a supervisor restart API processes that would come
back just as unable to reach it."""

from __future__ import annotations

import falcon

from store.context import Store
from store.errors import Unavailable
from store.queries.health import check_database
from store.version import VERSION


class Health:
    def __init__(self, store: Store) -> None:
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            provider = check_database(self._store)
        except Unavailable:
            resp.status = falcon.HTTP_503
            resp.set_header("Retry-After", "2")
            resp.media = {"status": "unavailable", "database": "unreachable", "version": VERSION}
            return
        resp.media = {"status": "ok", "database": "reachable", "provider": provider,
                      "version": VERSION}  # fmt: skip


class Liveness:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}
