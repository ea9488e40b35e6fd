"""The SQLite file held by another process (the TUI, a backup, an operator's sqlite3 shell)
while ``trident-scim serve`` answers IdP requests.

- A long reader (an open read transaction) blocks nothing: WAL readers and writers coexist.
- A writer holding the lock for less than the busy timeout: requests wait, then answer 2xx.
- A writer holding it longer: requests give up after the busy timeout (not a multiple of it)
  with 503, a SCIM error body and ``Retry-After``; never a 500. Afterwards every write
  answered 2xx is there, every multi-operation PATCH is whole or absent, and
  ``PRAGMA integrity_check`` says ok.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.security.harness import PATCH_URN, USER_URN, Answer, raw_request
from tests.security.process import Served, cli, new_token, serve, write_config

BUSY_MS = 1000


class Api:
    def __init__(self, served: Served, token: str) -> None:
        self.port, self.token = served.port, token

    def call(self, method: str, path: str, body: object = None) -> tuple[Answer, float]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}
        started = time.monotonic()
        data = None if body is None else json.dumps(body).encode()
        answer = raw_request(self.port, method, path, headers, data, timeout=60)
        return answer, time.monotonic() - started

    def create(self, name: str) -> tuple[Answer, float]:
        return self.call(
            "POST",
            "/scim/v2/Users",
            {"schemas": [USER_URN], "userName": name, "emails": [{"value": name, "primary": True}]},
        )

    def patch_three(self, uid: str, value: str) -> tuple[Answer, float]:
        ops = [
            {"op": "replace", "path": p, "value": value}
            for p in ("title", "nickName", "name.givenName")
        ]
        return self.call(
            "PATCH", f"/scim/v2/Users/{uid}", {"schemas": [PATCH_URN], "Operations": ops}
        )


@contextmanager
def _held(db: Path, mode: str) -> Iterator[sqlite3.Connection]:
    """Another process's transaction on the file: "" (a reader), IMMEDIATE or EXCLUSIVE."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    conn.execute(f"BEGIN {mode}".strip())
    conn.execute("SELECT count(*) FROM scim_user").fetchall()
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _integrity(db: Path) -> list[tuple[str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    db = tmp_path / "trident-scim.db"
    config = write_config(tmp_path / "config.toml", f"sqlite:///{db}", busy_timeout_ms=BUSY_MS)
    cli(config, "db", "init")
    token = new_token(config)
    served = serve(config, tmp_path / "serve.log", "--no-worker", threads=4)
    try:
        yield Api(served, token), db
    finally:
        assert served.stop() == 0
        assert "Traceback" not in served.log()


@pytest.mark.slow
def test_a_long_reader_blocks_nothing(api: tuple[Api, Path]) -> None:
    client, db = api
    with _held(db, "") as reader:
        before = reader.execute("SELECT count(*) FROM scim_user").fetchone()[0]
        for i in range(10):
            # 201, not 503: a write that had to wait for the reader would still be waiting
            # when the busy timeout ran out, since the reader holds on through the loop.
            answer, _took = client.create(f"r{i}@example.com")
            assert answer.status == 201, answer.status
        # The reader keeps its consistent snapshot while the writes go on.
        assert reader.execute("SELECT count(*) FROM scim_user").fetchone()[0] == before
    answer, _ = client.call("GET", "/scim/v2/Users?count=0")
    assert answer.json["totalResults"] == 10
    assert _integrity(db) == [("ok",)]


@pytest.mark.slow
def test_a_short_writer_lock_is_waited_out(api: tuple[Api, Path]) -> None:
    client, db = api
    results: list[tuple[Answer, float]] = []
    thread = threading.Thread(target=lambda: results.append(client.create("w@example.com")))
    with _held(db, "IMMEDIATE"):
        thread.start()
        # The lock is held for half the busy timeout (the scenario, not a guess of how long
        # the request takes): whenever the request arrives, it cannot be answered meanwhile.
        time.sleep(BUSY_MS / 2000)
        assert not results, "a write was answered while another process held the lock"
    thread.join(timeout=60)
    answer, _took = results[0]
    assert answer.status == 201, answer.body  # waited the lock out, within the busy timeout


@pytest.mark.slow
def test_a_writer_lock_past_the_busy_timeout_is_503_never_500(api: tuple[Api, Path]) -> None:
    client, db = api
    user = client.create("patched@example.com")[0].json["id"]
    attempts: list[tuple[str, Answer, float]] = []

    def attempt(kind: str, i: int) -> None:
        if kind == "create":
            answer, took = client.create(f"locked{i}@example.com")
        elif kind == "patch":
            answer, took = client.patch_three(user, f"v{i}")
        else:
            answer, took = client.call("GET", "/scim/v2/Users?count=5")
        attempts.append((kind, answer, took))

    with _held(db, "EXCLUSIVE"):
        for i, kind in enumerate(("create", "patch", "list")):  # one at a time
            attempt(kind, i)
        threads = [
            threading.Thread(target=attempt, args=(kind, 10 + i))
            for i, kind in enumerate(("create", "patch", "list"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(attempts) == 6
    busy = BUSY_MS / 1000
    for n, (kind, answer, took) in enumerate(attempts):
        assert answer.status == 503, (kind, answer.status, answer.body)
        assert answer.is_scim_error() and int(answer.header("retry-after") or 0) >= 1
        # A request gives up after the busy timeout, not a multiple of it (each retry would
        # wait again). The process has one SQLite writer at a time, so a request may first
        # queue behind another waiting writer: the request-log flush (alone) or its siblings.
        assert took < (2.6 * busy if n < 3 else 4.6 * busy), (kind, took)
    # Afterwards: everything works, nothing of the refused writes is there or half there.
    assert client.patch_three(user, "after")[0].status == 200
    listed, _ = client.call("GET", "/scim/v2/Users?count=100")
    assert [u["userName"] for u in listed.json["Resources"]] == ["patched@example.com"]
    me = listed.json["Resources"][0]
    assert me["title"] == me["nickName"] == me["name"]["givenName"] == "after"
    assert _integrity(db) == [("ok",)]
