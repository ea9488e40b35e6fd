"""``trident-scim db backup PATH`` while ``serve`` is provisioning, then ``db restore``.

The copy is taken mid-burst. It must be consistent: it opens as a Store, passes the
integrity check (SQLite), holds every user answered before the backup started and none
created after it ended, and every multi-operation PATCH in it is whole (group names and
members agree, member counts match the membership rows). Restored over the live database
(service stopped, then started again) it is exactly what the service serves.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from pony.orm import db_session

from store.context import Store, open_store
from store.queries.users import list_users
from tests.faults.load import Burst, get_json, make_lanes, verify_lane
from tests.security.process import cli, new_token, serve, write_config
from tests.support import create_pg_database, drop_pg_database, settings_for


def _answered_names(burst: Burst) -> set[str]:
    return {name for lane in burst.lanes for name in lane.users}


def _consistent_names(copy: Store, tag: str) -> set[str]:
    """Users of the run in the copy, after checking the copy's internal invariants."""
    page = list_users(copy, None, 1, 10_000, None)
    names = {u.user_name for u in page.items if u.user_name.startswith(tag)}
    db = copy.db
    with db_session:
        for group in db.Group.select():
            assert group.member_count == group.memberships.count()
        for user in db.User.select():
            if user.user_name.startswith(tag) and "-owner-" not in user.user_name:
                assert [e.value for e in user.emails] == [user.user_name]
    return names


def _open_copy(backend: str, backup: Path, tmp_path: Path) -> tuple[Store, str | None]:
    """A Store on the backup: the SQLite file itself, or a scratch PostgreSQL database the
    dump is restored into with ``db restore`` (the same command an operator runs)."""
    if backend == "sqlite":
        conn = sqlite3.connect(backup)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
        return open_store(settings_for(f"sqlite:///{backup}")), None
    scratch = create_pg_database()
    config = write_config(tmp_path / "scratch.toml", scratch)
    cli(config, "db", "restore", str(backup), "--yes")
    return open_store(settings_for(scratch)), scratch


@pytest.mark.slow
def test_backup_while_serving_is_consistent_and_restores(
    tmp_path: Path, private_url: str, backend: str
) -> None:
    config = write_config(tmp_path / "config.toml", private_url)
    cli(config, "db", "init")
    token = new_token(config)
    served = serve(config, tmp_path / "serve.log", threads=4)
    tag = f"bk{uuid.uuid4().hex[:6]}"
    port = served.port
    burst = Burst(lambda: port, token, make_lanes(port, token, 3, tag), tag).start()
    backup = tmp_path / ("backup.db" if backend == "sqlite" else "backup.dump")
    try:
        while burst.ok_count() < 60:
            time.sleep(0.02)
        before = _answered_names(burst)
        printed = cli(config, "db", "backup", str(backup)).stdout  # the burst goes on
        during = _answered_names(burst)
        deadline = time.monotonic() + 30
        while len(_answered_names(burst)) < len(during) + 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        burst.join()
        assert backup.stat().st_mode & 0o777 == 0o600
        assert f"backup written: {backup}" in printed
        copy, scratch = _open_copy(backend, backup, tmp_path)
        try:
            in_copy = _consistent_names(copy, tag)
        finally:
            copy.close()
            if scratch:
                drop_pg_database(scratch)
        owners = {f"{tag}-owner-{t}@example.com" for t in range(3)}
        assert before | owners <= in_copy <= during | owners  # one moment between the two
        assert _answered_names(burst) - in_copy  # writes after the backup exist ...
    finally:
        burst.join()
        served.stop()
    cli(config, "db", "restore", str(backup), "--yes")  # ... and the restore drops them
    served = serve(config, tmp_path / "serve-restored.log", threads=4)
    try:
        query = f"count=1000&filter=userName%20sw%20%22{tag}%22"
        found = get_json(served.port, token, f"/scim/v2/Users?{query}")
        assert {u["userName"] for u in found["Resources"]} == in_copy
        for lane in burst.lanes:
            verify_lane(served.port, token, lane, tag, answered=False)
    finally:
        served.stop()
    print(
        f"\nbackup [{backend}]: {len(before)} users answered before the backup, "
        f"{len(in_copy) - len(owners)} in the copy, {len(during)} answered by its end, "
        f"{len(_answered_names(burst))} in all; restored and verified"
    )
