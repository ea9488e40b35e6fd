"""``trident-scim worker`` as operators and cron use it: ``--once``, ``--list``, ``status``;
and Last Used reaching ``token list --json`` through the worker, with ``worker --once`` and
with ``serve`` alone."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from store.context import Store, utc_now
from store.domain.scope import OPERATOR
from store.queries.tokens import list_tokens
from store.records import ActivityInput, GroupInput
from store.services import groups, member_batches, role_sync
from store.services.activity import record_activity
from store.services.groups import create_group
from tests.store.test_users_helpers import bulk_users
from tests.support import wait_until
from worker.jobs import JOBS, JobContext, JobSpec

CLI = str(Path(sys.executable).parent / "trident-scim")


def _config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n{extra}')
    return path


def _cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [CLI, "--config", str(config), *args], capture_output=True, text=True, timeout=60
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _tokens_json(config: Path) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in json.loads(_cli(config, "token", "list", "--json").stdout)}


def _z(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def test_once_update_last_used_reaches_token_list(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, store_url)
    _cli(config, "token", "create", "Okta SCIM")
    assert _tokens_json(config)["Okta SCIM"]["last_used"] is None
    (token,) = list_tokens(store)
    used_at = utc_now() - timedelta(seconds=5)
    # What the API's request-log buffer writes for one request made with the token.
    record_activity(
        store,
        [ActivityInput(at=used_at, method="GET", path="/scim/v2/Users", status=200,
                       latency_ms=3.0, token_id=token.id, token_name=token.name)],
    )  # fmt: skip
    done = _cli(config, "worker", "--once", "update_last_used")
    assert done.stdout.strip() == (
        "update_last_used: ok, 1 changed: Last Used moved for 1 token(s)"
    )
    assert _tokens_json(config)["Okta SCIM"]["last_used"] == _z(used_at)
    again = _cli(config, "worker", "--once", "update_last_used")
    assert "ok, 0 changed" in again.stdout


def test_status_and_list_show_the_runs(store: Store, store_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path, store_url, "[worker]\nreconcile_seconds = 600\n")
    _cli(config, "worker", "--once", "reconcile_roles")
    status = json.loads(_cli(config, "worker", "status", "--json").stdout)
    assert status["leader"] is None
    jobs = {j["job"]: j for j in status["jobs"]}
    assert set(jobs) == set(JOBS)
    assert jobs["reconcile_roles"]["interval_seconds"] == 600
    assert jobs["reconcile_roles"]["last_run"]["outcome"] == "ok"
    assert jobs["reconcile_roles"]["last_ok"] is not None
    assert jobs["expire_sessions"]["last_run"] is None
    listing = _cli(config, "worker", "--list").stdout
    assert re.search(r"reconcile_roles\s+10m\s+\S+ \S+ UTC\s+ok\s+0", listing), listing
    assert re.search(r"expire_sessions\s+1m\s+-\s+never run", listing), listing
    text = _cli(config, "worker", "status").stdout
    assert text.startswith("leader: none (no worker is running)")


def test_once_exits_1_when_the_job_fails(
    store: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def broken(ctx: JobContext) -> tuple[int, str]:
        raise ValueError("mapping table unreadable")

    monkeypatch.setitem(JOBS, "broken", JobSpec("broken", broken, "reconcile_seconds", "test"))
    config = _config(tmp_path, store_url)
    assert main(["--config", str(config), "worker", "--once", "broken"]) == 1
    assert "broken: error: ValueError: mapping table unreadable" in capsys.readouterr().out
    assert main(["--config", str(config), "worker", "--once", "update_last_used"]) == 0


def test_unknown_job_is_a_usage_error(tmp_path: Path) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    done = _cli(config, "worker", "--once", "nope", check=False)
    assert done.returncode == 2 and "invalid choice: 'nope'" in done.stderr


# ---- serve alone: Last Used within 60 seconds ------------------------------------------------


def _get_users(port: int, secret: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/scim/v2/Users?count=1", headers={"Authorization": f"Bearer {secret}"})
    status = conn.getresponse().status
    conn.close()
    return status


def _start_serve(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [CLI, "--config", str(config), "serve", "--port", "0"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip

    def listening() -> re.Match[str] | None:
        assert proc.poll() is None, log.read_text()
        return re.search(r"listening on [\d.]+:(\d+)", log.read_text())

    found = wait_until(listening, 60, log.read_text)
    return proc, int(found.group(1))


def _last_used(config: Path) -> datetime | None:
    value = _tokens_json(config)["Okta SCIM"]["last_used"]
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.slow
def test_serve_alone_makes_last_used_correct_within_60_seconds(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """Default worker settings; the second request comes a few seconds after the first, so
    only the worker (not the once-a-minute write at authentication) can show it in time."""
    if store.provider != "sqlite":
        pytest.skip("serve alone is the single-host SQLite install (PostgreSQL: --once test)")
    config = _config(tmp_path, store_url)
    secret = _cli(config, "token", "create", "Okta SCIM").stdout.strip().splitlines()[-1]
    proc, port = _start_serve(config, tmp_path / "serve.log")
    try:
        assert _get_users(port, secret) == 200
        first = _wait_last_used(store, config, None, 60)
        # The second request at a later second than the first one's Last Used, so that only
        # a new write can show it (a wait on the clock, not a guess of how long is enough).
        wait_until(lambda: datetime.now(UTC) >= first + timedelta(seconds=2), 10)
        sent = datetime.now(UTC)
        assert _get_users(port, secret) == 200
        second = _wait_last_used(store, config, first, 60)  # within the 60 s the guide promises
        assert second >= sent - timedelta(seconds=1)
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0, (tmp_path / "serve.log").read_text()


def _wait_last_used(
    store: Store, config: Path, previous: datetime | None, seconds: float
) -> datetime:
    """Last Used of the token as ``token list --json`` shows it, once past ``previous``. The
    database is polled in this process; the CLI runs once the stored value has moved (a
    process per poll would spend seconds of CPU while the worker's period runs out)."""

    def stored_moved() -> bool:
        (token,) = list_tokens(store)
        value = token.last_used
        return value is not None and (previous is None or value.replace(tzinfo=UTC) > previous)

    def moved() -> datetime | None:
        if not stored_moved():
            return None
        value = _last_used(config)
        return value if value is not None and (previous is None or value > previous) else None

    return wait_until(moved, seconds, f"Last Used did not move past {previous}")


def test_status_shows_a_large_change_stopped_between_batches(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """A group deletion pushed by an IdP that stopped after its first batch: ``worker
    status`` lists it with its progress, until the worker's reconcile finishes it."""
    config = _config(tmp_path, store_url)
    batch = role_sync.BATCH
    users = bulk_users(store, batch + 100)
    group = create_group(store, GroupInput("Straße Team", {}), tuple(users), "idp:okta")
    queued = groups._delete_group(store, group.id, "idp:okta", None, OPERATOR)
    assert queued is not None
    plan = member_batches._plan(store, queued)
    assert plan is not None and member_batches._step(store, queued, plan) is not None
    status = json.loads(_cli(config, "worker", "status", "--json").stdout)
    (change,) = status["large_changes"]
    assert (change["kind"], change["group"]) == ("deletion", "Straße Team")
    assert (change["done"], change["total"], change["actor"]) == (batch, batch + 100, "idp:okta")
    text = _cli(config, "worker", "status").stdout
    line = text.splitlines()[-1]
    assert line.split()[1:3] == ["Straße", "Team"]
    assert "deleting, members leaving" in line and f"{batch} of {batch + 100} member(s)" in line
    _cli(config, "worker", "--once", "reconcile_roles")
    assert json.loads(_cli(config, "worker", "status", "--json").stdout)["large_changes"] == []
    assert _cli(config, "worker", "status").stdout.splitlines()[-1] == (
        "large changes in progress: none"
    )
