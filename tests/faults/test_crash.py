"""``kill -9`` of ``trident-scim serve`` in the middle of a provisioning burst, twice, on SQLite
and PostgreSQL. After each restart the database opens cleanly, and at the end every write
that was answered 2xx is in the store and no multi-operation PATCH is half-applied (see
``load`` for how a partial application would show)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.faults.load import Burst, get_json, make_lanes, verify_lane
from tests.security.process import Served, cli, new_token, serve, write_config

THREADS = 4
ROUNDS = 2
WRITES_BEFORE_KILL = 120
"""2xx answers each round waits for before pulling the plug (bounded by a deadline)."""


def _check_sqlite(url: str) -> None:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()


def _no_half_created_users(port: int, token: str, tag: str) -> int:
    """Users the crash may have cut (created, answer lost) are complete too."""
    query = quote(f'userName sw "{tag}"')
    found = get_json(port, token, f"/scim/v2/Users?count=1000&filter={query}")
    for user in found["Resources"]:
        if "-owner-" not in user["userName"]:
            assert [e["value"] for e in user.get("emails", [])] == [user["userName"]], user
    return int(found["totalResults"])


@pytest.mark.slow
def test_kill_9_mid_burst_loses_no_answered_write_and_half_applies_nothing(
    tmp_path: Path, private_url: str, backend: str
) -> None:
    config = write_config(tmp_path / "config.toml", private_url)
    cli(config, "db", "init")
    token = new_token(config)
    tag = f"crash{uuid.uuid4().hex[:6]}"
    served: Served = serve(config, tmp_path / "serve-0.log")
    current = {"port": served.port}
    burst = Burst(lambda: current["port"], token, make_lanes(served.port, token, THREADS, tag), tag)
    burst.start()
    figures = []
    try:
        for round_ in range(1, ROUNDS + 1):
            target = burst.ok_count() + WRITES_BEFORE_KILL
            deadline = time.monotonic() + 30
            while burst.ok_count() < target and time.monotonic() < deadline:
                time.sleep(0.02)
            served.kill9()  # mid-burst: the client threads are still sending
            figures.append(f"round {round_}: killed after {burst.ok_count()} answered writes")
            _check_sqlite(private_url)
            served = serve(config, tmp_path / f"serve-{round_}.log")  # opens cleanly
            current["port"] = served.port
        time.sleep(0.5)  # some traffic on the last restart too
        burst.join()
        totals: dict[str, int] = {}
        for lane in burst.lanes:
            for key, value in verify_lane(served.port, token, lane, tag).items():
                totals[key] = totals.get(key, 0) + value
        in_store = _no_half_created_users(served.port, token, tag)
    finally:
        burst.join()
        served.stop()
    _check_sqlite(private_url)
    print(
        f"\nkill -9 [{backend}]: {'; '.join(figures)}; answers {dict(burst.answered())}; "
        f"verified after restart: {totals}; users with the run's prefix in store: {in_store}"
    )
    assert totals["group patches"] >= ROUNDS and burst.answered()["refused"] >= 1
