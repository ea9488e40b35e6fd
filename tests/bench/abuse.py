"""Benchmark rows for the service under abuse: Control's session check while SCIM is
saturated by costly filters, and while 110 slow clients hold connections; and how much the
database grows from 2,000 unauthenticated requests.

Every background load is bounded: it stops when the measured run ends, and at a deadline.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.bench.load import LOOPBACK, Client, Run
from tests.bench.scenarios import SCIM, Bench, Row, row_of

COSTLY_TERMS = 199
COSTLY = " or ".join(f'emails co "q{n}"' for n in range(COSTLY_TERMS))
"""Within every limit (199 comparisons, under 4096 characters), and a full scan per term."""
SATURATING_CLIENTS = 11  # a default-limit token's burst
SLOW_CLIENTS = 110
SLOW_EVERY = 10.0  # seconds between the bytes of a slow client


PACE = 0.01  # seconds between two session checks: page views, not a load test of their own


def _paced_session_checks(bench: Bench, cookie_name: str, cookie: str, count: int) -> Run:
    """``count`` session checks from one client, one at a time, ``PACE`` apart, so the
    measurement spans seconds of the background load rather than a fraction of one."""
    header = {"Cookie": f"{cookie_name}={cookie}"}
    client = bench.server.client()
    client.timeout = 60
    run = Run()
    deadline = time.monotonic() + bench.timeout
    started = time.perf_counter()
    try:
        for i in range(count):
            if time.monotonic() > deadline:
                run.timed_out = True
                break
            sent = time.perf_counter()
            try:
                run.statuses[i] = client.get("/auth/session", headers=header).status
                run.latencies[i] = time.perf_counter() - sent
            except OSError as exc:
                client.close()
                run.errors.append(f"#{i}: {type(exc).__name__}: {exc}")
            time.sleep(PACE)
    finally:
        client.close()
    run.wall = time.perf_counter() - started
    return run


@contextlib.contextmanager
def _costly_filters(bench: Bench, clients: int, deadline: float) -> Iterator[dict[int, int]]:
    """``clients`` threads sending the costly filter back to back until the block ends."""
    stop = threading.Event()
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def send() -> None:
        client = bench.client()
        client.timeout = 120
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    status = client.get(SCIM + "/Users", params={"filter": COSTLY}).status
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
        finally:
            client.close()

    threads = [threading.Thread(target=send, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every SCIM thread busy before the first measured request
    try:
        yield statuses
    finally:
        stop.set()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 5)


def session_under_scim_saturation(bench: Bench, cookie_name: str, cookie: str, count: int) -> Row:
    """One client checking a session, one request at a time, while 11 others keep SCIM
    busy with 199-term ``emails co`` filters (a default-limit token's burst)."""
    deadline = time.monotonic() + bench.timeout
    with _costly_filters(bench, SATURATING_CLIENTS, deadline) as scim:
        run = _paced_session_checks(bench, cookie_name, cookie, count)
        shown = dict(sorted(scim.items()))
    name = f"session check p99, SCIM saturated ({SATURATING_CLIENTS} clients, costly filters)"
    return row_of(name, run, {200}, [f"costly filter answers meanwhile: {shown}"])


@contextlib.contextmanager
def _slow_clients(port: int, count: int, every: float) -> Iterator[list[socket.socket]]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((LOOPBACK, port), timeout=5)
        sock.send(b"GET /livez HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
        sockets.append(sock)
    stop = threading.Event()

    def dribble() -> None:
        while not stop.wait(every):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"x")

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        thread.join(every + 5)
        for sock in sockets:
            sock.close()


def session_during_slow_connections(bench: Bench, cookie_name: str, cookie: str, count: int) -> Row:
    """110 connections sending one byte every 10 s (waitress used to accept 100 in all)."""
    with _slow_clients(bench.server.port, SLOW_CLIENTS, SLOW_EVERY):
        time.sleep(1.0)
        run = _paced_session_checks(bench, cookie_name, cookie, count)
    name = f"session check p99 during {SLOW_CLIENTS} slow connections (1 byte / {SLOW_EVERY:g} s)"
    return row_of(name, run, {200})


def database_bytes(url: str) -> int:
    """The database's size on disk: the SQLite file after a checkpoint that empties the WAL
    (the WAL is reused, not grown, once checkpointed), or pg_database_size."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return Path(path).stat().st_size
    import psycopg2

    conn_pg = psycopg2.connect(url, connect_timeout=10)
    try:
        with conn_pg.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return int(cur.fetchone()[0])
    finally:
        conn_pg.close()


def growth_from_unauthenticated(bench: Bench, url: str, count: int = 2_000) -> Row:
    """``count`` requests with a wrong token, each as heavy as the log allows (a long path,
    a 4 KiB filter, a long User-Agent); the size of the database before and after the
    request log has been written (it flushes about once a second)."""
    before = database_bytes(url)
    heavy_path = SCIM + "/Users/" + "p" * 1000
    headers = {"Authorization": "Bearer tscim_" + "A" * 43, "User-Agent": "u" * 256}
    filter_text = 'userName eq "' + "f" * 4000 + '"'

    def step(client: Client, i: int) -> int:
        reply = client.request("GET", heavy_path, params={"filter": filter_text}, headers=headers)
        return reply.status

    run = bench.drive(step, count)
    time.sleep(3.0)  # the request log's flush
    grown = database_bytes(url) - before
    note = f"database grew {grown / 1024:.0f} KiB ({grown / max(1, run.done):.0f} bytes a request)"
    return row_of(f"database growth from {count:,} unauthenticated requests", run, {401, 429},
                  [note])  # fmt: skip
