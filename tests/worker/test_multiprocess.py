"""Real ``trident-scim worker`` processes on one database (SQLite file and PostgreSQL): each
job runs once per tick however many workers run, and when the leader is killed -9 another
takes over once its lease has expired. The run records are the evidence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from store.context import Store, utc_now
from store.queries.jobs import job_runs
from store.records import JobRunRecord
from store.services.lease import current_leader, lease_expiry
from tests.support import wait_until

CLI = str(Path(sys.executable).parent / "trident-scim")
TTL = 3
INTERVALS = {
    "reconcile_roles": 2,
    "mapping_watch": 1,
    "expire_sessions": 1,
    "update_last_used": 1,
    "flag_stale_tokens": 1,
    "prune_activity": 2,
}
SETTING = {
    "reconcile_roles": "reconcile_seconds",
    "mapping_watch": "mapping_watch_seconds",
    "expire_sessions": "session_expiry_seconds",
    "update_last_used": "last_used_seconds",
    "flag_stale_tokens": "stale_check_seconds",
    "prune_activity": "retention_seconds",
}


def write_config(path: Path, url: str) -> Path:
    lines = ["[database]", f'url = "{url}"', "[worker]", f"lease_ttl_seconds = {TTL}"]
    lines += [f"{SETTING[job]} = {seconds}" for job, seconds in INTERVALS.items()]
    lines += ["[logging]", 'level = "INFO"']
    path.write_text("\n".join(lines) + "\n")
    return path


def start_worker(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    return subprocess.Popen(
        [CLI, "--config", str(config), "worker"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _pid_of(holder: str) -> int:
    return int(holder.split(":")[1])


def _every_job_finished(runs: list[JobRunRecord], times: int) -> bool:
    done = [r.job for r in runs if r.finished is not None]
    return all(done.count(job) >= times for job in INTERVALS)


def _check_once_per_tick(runs: list[JobRunRecord]) -> dict[str, int]:
    """Per job: runs never overlap, and where a run of one process follows a run of another
    (a handover) no two fall in one tick (starts at least half an interval apart). Returns
    the number of runs per job.

    Within one process the scheduler makes one run per tick (``max_instances=1``,
    ``coalesce``: tests/worker/test_scheduler.py), but the start of a run may lag its tick by
    any time on a loaded machine, so two of its runs may start close together without
    sharing a tick: only the spacing across processes is a property of the leases."""
    by_job: dict[str, list[JobRunRecord]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.started, r.id)):
        by_job[run.job].append(run)
    for job, seq in by_job.items():
        for before, after in zip(seq, seq[1:], strict=False):
            assert before.finished is not None and before.finished <= after.started, (job, before)
            if before.holder != after.holder:
                gap = (after.started - before.started).total_seconds()
                assert gap >= INTERVALS[job] * 0.5, (job, gap, before, after)
    return {job: len(seq) for job, seq in by_job.items()}


@pytest.mark.slow
def test_two_workers_run_each_job_once_per_tick_and_hand_over_on_kill(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    live = replace(store, clock=utc_now)
    config = write_config(tmp_path / "worker.toml", store_url)
    procs = {n: start_worker(config, tmp_path / f"{n}.log") for n in ("a", "b")}

    def logs() -> str:
        return (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()

    try:
        leader = wait_until(lambda: current_leader(live, "worker"), 30, logs)
        leader_pid = _pid_of(str(leader))
        follower = next(p for p in procs.values() if p.pid != leader_pid)
        assert {p.pid for p in procs.values()} == {leader_pid, follower.pid}
        follower_log = tmp_path / ("a.log" if follower is procs["a"] else "b.log")
        # Both have been ticking for a while: the follower stood by at least once, and the
        # leader finished every job at least twice.
        wait_until(lambda: "stands by" in follower_log.read_text(), 60, logs)
        wait_until(lambda: _every_job_finished(job_runs(live, limit=1000), 2), 60, logs)

        # Kill -9 the leader right after its lease was renewed: the worst case for takeover.
        expires = lease_expiry(live, "worker")
        assert expires is not None
        os.kill(leader_pid, signal.SIGKILL)
        before = [r for r in job_runs(live, limit=1000)]
        assert before and {r.holder for r in before} == {leader}, "the follower ran a job"
        counts = _check_once_per_tick(before)
        assert set(counts) == set(INTERVALS), counts
        window = (before[0].started - min(r.started for r in before)).total_seconds()
        for job, n in counts.items():
            assert n <= window / INTERVALS[job] + 2, (job, n, window)

        new_leader = wait_until(
            lambda: (lambda h: h if h and h != leader else None)(current_leader(live, "worker")),
            TTL + 60,
            logs,
        )
        took_over = time.time()
        assert _pid_of(str(new_leader)) == follower.pid
        assert took_over >= expires - 0.05  # not before the dead leader's lease ran out
        wait_until(  # the new leader runs every job (and closes the dead one's runs)
            lambda: (
                {r.job for r in job_runs(live, limit=1000) if r.holder == new_leader}
                == set(INTERVALS)
            ),
            60,
            logs,
        )
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=15) == 0
        after = job_runs(live, limit=1000)
        taken = [r for r in after if r.holder == new_leader]
        assert min(r.started for r in taken).timestamp() >= expires - 0.05
        finished = [r for r in after if r.outcome != "abandoned"]
        assert all(r.outcome == "ok" for r in finished), [r for r in finished if r.outcome != "ok"]
        _check_once_per_tick(finished)
        assert current_leader(live, "worker") is None  # a clean stop hands the lease back
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
