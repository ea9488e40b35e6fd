"""A real server on 127.0.0.1 under connection abuse: slow clients past waitress's old
connection limit, and SCIM saturated while Control's session check keeps answering.

Deadlines, not timings: each probe must answer within a generous client timeout, and the
bench (tests/bench) measures the real latencies."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import psycopg2
import pytest

from api.app import create_app
from api.connections import SCIM_NICE
from api.server import ScimServer, bind_socket
from store.config import ApiSettings, RateLimitSettings
from store.context import Store, utc_now
from store.services.tokens import issue_token
from tests.http_client import Client

SLOW_CLIENTS = 110
PROBE_TIMEOUT = 5.0  # seconds a probe may take before it counts as not answered


@contextlib.contextmanager
def _serving(store: Store, limits: ApiSettings, threads: int = 2) -> Iterator[ScimServer]:
    sock = bind_socket("127.0.0.1", 0)
    rate = RateLimitSettings(requests_per_minute=1_000_000, burst=1_000_000)
    live = replace(store, settings=replace(store.settings, rate_limit=rate), clock=utc_now)
    server = ScimServer(create_app(live), sock, threads=threads, limits=limits).start()
    try:
        yield server
    finally:
        server.stop(timeout=2)


def _wait_for(condition: Callable[[], bool], deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"not reached within {deadline}s: {what}")
        time.sleep(0.02)


def _probe_all(server: ScimServer, rounds: int) -> list[tuple[str, int]]:
    """GET /livez and /auth/session (no cookie: 401) ``rounds`` times each, one fresh
    connection per request, each within PROBE_TIMEOUT."""
    answers = []
    for _ in range(rounds):
        for path in ("/livez", "/auth/session"):
            client = Client(server.url, None, "probe", timeout=PROBE_TIMEOUT)
            try:
                answers.append((path, client.get(path).status))
            finally:
                client.close()
    return answers


def _dribble(sockets: list[socket.socket], stop: threading.Event, every: float) -> None:
    """One byte of a never-ending request header on every socket, every ``every`` seconds."""
    while not stop.wait(every):
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.send(b"X")


def _open_slow(url_port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", url_port), timeout=5)
        sock.send(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(sock)
    return sockets


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_clients_past_the_old_limit_do_not_stop_the_session_check(store: Store) -> None:
    limits = ApiSettings(request_timeout=3, cleanup_interval=1)
    with _serving(store, limits) as server:
        sockets = _open_slow(server.port, SLOW_CLIENTS)
        stop = threading.Event()
        dribbler = threading.Thread(target=_dribble, args=(sockets, stop, 0.5), daemon=True)
        dribbler.start()
        try:
            _wait_for(lambda: len(server._server.active_channels) >= SLOW_CLIENTS, 10,
                      "every slow connection accepted")  # fmt: skip
            answers = _probe_all(server, rounds=10)
            # The slow requests never complete: each is cut off at [api] request_timeout.
            _wait_for(lambda: all(_closed_by_peer(s) for s in sockets), 20,
                      "slow requests disconnected")  # fmt: skip
        finally:
            stop.set()
            dribbler.join(5)
            for sock in sockets:
                sock.close()
    assert answers == [("/livez", 200), ("/auth/session", 401)] * 10


@contextlib.contextmanager
def _writes_blocked(store: Store, store_url: str) -> Iterator[None]:
    """Hold the database so every SCIM write waits (SQLite: the write lock; PostgreSQL: an
    exclusive lock on the user table), as a bulk load or costly filters would keep it busy."""
    if store.provider == "sqlite":
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = psycopg2.connect(store_url)
    try:
        with pg.cursor() as cur:
            cur.execute('LOCK TABLE "scim_user" IN EXCLUSIVE MODE')
        yield
    finally:
        pg.rollback()
        pg.close()


def _create_users(server: ScimServer, token: str, count: int, prefix: str) -> list[int]:
    client = Client(server.url + "/scim/v2", token, "bulk", timeout=60)
    statuses = []
    try:
        for n in range(count):
            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"{prefix}-{n}@example.com"}  # fmt: skip
            statuses.append(client.post("/Users", body).status)
    finally:
        client.close()
    return statuses


def test_session_check_answers_while_every_scim_thread_is_busy(
    store: Store, store_url: str
) -> None:
    token = issue_token(store, "Bulk", "operator:test").secret
    with _serving(store, ApiSettings(session_threads=2), threads=2) as server:
        results: list[Any] = []
        with _writes_blocked(store, store_url):
            loaders = [
                threading.Thread(
                    target=lambda n=n: results.append(_create_users(server, token, 2, f"u{n}")),
                    daemon=True,
                )  # fmt: skip
                for n in range(6)
            ]
            for loader in loaders:
                loader.start()
            scim = server.dispatcher.scim
            _wait_for(lambda: scim.active_count >= 2 and len(scim.queue) >= 1, 10,
                      "every SCIM thread busy and more SCIM requests queued")  # fmt: skip
            answers = _probe_all(server, rounds=5)
            saturated = scim.active_count >= 2
        for loader in loaders:
            loader.join(60)
    assert answers == [("/livez", 200), ("/auth/session", 401)] * 5
    assert saturated  # the probes were answered while SCIM was still held
    assert len(results) == 6


def _scim_niceness(server: ScimServer, threads: int) -> tuple[int, list[int]]:
    pool = server.dispatcher.scim
    _wait_for(lambda: len(pool.niceness()[1]) == threads, 10, "every SCIM thread running")
    return pool.niceness()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_scim_runs_at_full_priority_and_yields_to_the_session_check(
    store: Store, store_url: str
) -> None:
    """SCIM threads run at the process's own priority while nothing else of the service
    wants the CPU; a session check or probe makes the busy one nicer at once (an idle one
    takes no CPU); after the calm, fresh threads at full priority serve SCIM again."""
    token = issue_token(store, "Bulk", "operator:test").secret
    with _serving(store, ApiSettings(session_threads=2), threads=2) as server:
        scim = Client(server.url + "/scim/v2", token, "idp", timeout=PROBE_TIMEOUT)
        try:
            assert scim.get("/ServiceProviderConfig").status == 200
            base, before = _scim_niceness(server, 2)
            results: list[Any] = []
            with _writes_blocked(store, store_url):
                loader = threading.Thread(
                    target=lambda: results.append(_create_users(server, token, 1, "busy")),
                    daemon=True,
                )  # fmt: skip
                loader.start()
                pool = server.dispatcher.scim
                _wait_for(lambda: pool.active_count >= 1, 10, "a SCIM thread busy")
                answers = _probe_all(server, rounds=1)
                _, during = _scim_niceness(server, 2)
            loader.join(60)

            def back_to_full_priority() -> bool:
                assert scim.get("/ServiceProviderConfig").status == 200
                return _scim_niceness(server, 2)[1] == [base, base]

            _wait_for(back_to_full_priority, 20, "SCIM threads at full priority again")
        finally:
            scim.close()
        replaced = server.dispatcher.scim.replaced
    assert before == [base, base]
    assert answers == [("/livez", 200), ("/auth/session", 401)]
    assert sorted(during) == [base, min(19, base + SCIM_NICE)]  # the busy one, not the idle
    assert results == [[201]]  # the request that was running when it yielded completed
    assert replaced >= 1
