"""The request-log buffer, and database faults answered as SCIM 503s."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from api.activity import ActivityRecorder
from api.app import create_app
from cli.serve_cmd import public_url_for
from store.config import ApiSettings, DatabaseSettings, Settings
from store.context import Store, open_store
from store.errors import Unavailable
from store.queries.activity import recent_activity
from store.records import ActivityInput
from store.services.tokens import issue_token
from tests.api.conftest import USER_URN, Scim, assert_scim_error, roomy
from tests.conftest import BACKENDS
from tests.support import create_pg_database, drop_pg_database


def _entry(n: int) -> ActivityInput:
    return ActivityInput(at=datetime(2026, 1, 5, 9, 0, n % 60), method="GET",
                         path=f"/scim/v2/Users/{n}", status=200, latency_ms=1.0)  # fmt: skip


def test_recorder_flushes_periodically_and_on_close(api_store: Store) -> None:
    recorder = ActivityRecorder(api_store, flush_seconds=0.05).start()
    recorder.record(_entry(1))
    deadline = time.monotonic() + 5
    while not recent_activity(api_store, errors_first=False) and time.monotonic() < deadline:
        time.sleep(0.02)  # written by the flusher thread, without close()
    assert recorder.pending() == 0
    assert len(recent_activity(api_store, errors_first=False)) == 1
    recorder.record(_entry(2))
    recorder.close()
    assert len(recent_activity(api_store, errors_first=False)) == 2


def test_recorder_keeps_a_batch_the_database_refused(api_store: Store) -> None:
    calls: list[int] = []

    def flaky(items: Sequence[ActivityInput]) -> int:
        calls.append(len(items))
        if len(calls) == 1:
            raise Unavailable("database is locked")
        return len(items)

    recorder = ActivityRecorder(api_store, flush_seconds=3600, sink=flaky)
    for n in range(3):
        recorder.record(_entry(n))
    assert recorder.flush() == 0 and recorder.pending() == 3
    recorder.record(_entry(3))
    assert recorder.flush() == 4 and recorder.pending() == 0
    assert calls == [3, 4]


def test_recorder_is_bounded(api_store: Store) -> None:
    written: list[ActivityInput] = []
    recorder = ActivityRecorder(api_store, flush_seconds=3600, capacity=5,
                                sink=lambda items: written.extend(items) or len(items))  # fmt: skip
    for n in range(8):
        recorder.record(_entry(n))
    assert recorder.pending() == 5 and recorder.dropped == 3
    recorder.close()
    assert [e.path for e in written] == [f"/scim/v2/Users/{n}" for n in range(3, 8)]


@pytest.mark.skipif("sqlite" not in BACKENDS, reason="SQLite not selected")
def test_locked_sqlite_is_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{path}", busy_timeout_ms=20))
    store = roomy(open_store(settings, create=True))
    try:
        secret = issue_token(store, "Okta SCIM", "operator:test", rate_limit=1_000_000).secret
        scim = Scim(create_app(store), secret)
        assert scim.get("/Users").status_code == 200
        blocker = sqlite3.connect(path, timeout=0.1)
        blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        try:
            result = scim.post("/Users", {"schemas": [USER_URN], "userName": "jane@example.com"})
            assert_scim_error(result, 503)
            assert result.headers["retry-after"].isdigit()
        finally:
            blocker.rollback()
            blocker.close()
        created = scim.post("/Users", {"schemas": [USER_URN], "userName": "jane@example.com"})
        assert created.status_code == 201
    finally:
        store.close()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL not selected")
def test_lost_postgresql_is_503_and_healthz_says_so() -> None:
    url = create_pg_database()
    store = roomy(open_store(Settings(database=DatabaseSettings(url=url)), create=True))
    dropped = False
    try:
        secret = issue_token(store, "Okta SCIM", "operator:test", rate_limit=1_000_000).secret
        scim = Scim(create_app(store), secret)
        assert scim.get("/healthz", token=None).status_code == 200
        drop_pg_database(url)
        dropped = True
        for _ in range(2):  # the first call may only discover the dead pooled connection
            result = scim.get("/Users")
        assert_scim_error(result, 503)
        health = scim.get("/healthz", token=None)
        assert health.status_code == 503 and health.json["database"] == "unreachable"
        assert "Traceback" not in health.text
    finally:
        store.close()
        if not dropped:
            drop_pg_database(url)


def test_public_url_follows_the_listening_address() -> None:
    default = Settings()
    assert public_url_for(default, "127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert public_url_for(default, "::1", 9000) == "http://[::1]:9000"
    assert public_url_for(default, "0.0.0.0", 9000).endswith(":9000")  # noqa: S104
    assert "0.0.0.0" not in public_url_for(default, "0.0.0.0", 9000)  # noqa: S104
    proxied = replace(default, api=ApiSettings(public_url="https://control.example.com"))
    assert public_url_for(proxied, "127.0.0.1", 9000) == "https://control.example.com"
    assert proxied.scim_base_url == "https://control.example.com/scim/v2"
