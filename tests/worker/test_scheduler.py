"""The scheduler wiring in-process: every job runs, a mapping edit converges within seconds,
shutdown finishes cleanly and hands the leases back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, timedelta
from typing import cast

from apscheduler.schedulers.background import BackgroundScheduler

from store.config import Settings, WorkerSettings
from store.context import Store, utc_now
from store.queries.jobs import job_runs, worker_health
from store.services.lease import current_leader
from tests.store.identity_factories import make_group, make_user, roles_of
from tests.worker.factories import make_mapping
from worker.jobs import JOBS, JobContext
from worker.scheduler import configure, heartbeat_seconds, start_background_worker

FAST = WorkerSettings(
    reconcile_seconds=300,  # only the mapping watch can make a mapping edit converge quickly
    session_expiry_seconds=1,
    last_used_seconds=1,
    stale_check_seconds=1,
    retention_seconds=1,
    mapping_watch_seconds=1,
    lease_ttl_seconds=3,
)


def _live(store: Store, worker: WorkerSettings = FAST) -> Store:
    """The same database on the wall clock (leases and triggers run on real time)."""
    return replace(store, clock=utc_now, settings=replace(store.settings, worker=worker))


def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_background_worker_runs_every_job_and_stops_cleanly(store: Store) -> None:
    live = _live(store)
    scheduler = start_background_worker(live)
    try:
        assert _wait(
            lambda: all(h.last_run is not None for h in worker_health(live, jobs=list(JOBS)).jobs)
        )
        holder = current_leader(live, "worker")
        assert holder is not None
    finally:
        scheduler.shutdown()
    assert current_leader(live, "worker") is None
    assert current_leader(live, "job:update_last_used") is None
    runs = job_runs(live, limit=500)
    assert runs and all(r.outcome == "ok" and r.holder == holder for r in runs), runs[:3]


def test_a_mapping_edit_converges_within_seconds(store: Store) -> None:
    live = _live(store)
    alice = make_user(live, "alice@corp")
    make_group(live, "Ops", members=(alice,))
    scheduler = start_background_worker(live)
    try:
        assert _wait(lambda: bool(job_runs(live, job="reconcile_roles")))
        make_mapping(live, "ops", "operator")  # not through the mapping service
        started = time.monotonic()
        assert _wait(lambda: roles_of(live, alice) == {("operator", "idp")}, 8)
        assert time.monotonic() - started < 6
    finally:
        scheduler.shutdown()


def test_every_job_runs_at_most_once_per_tick_of_its_own_interval() -> None:
    """The wiring that makes one process run a job once per tick, however late a run starts:
    one instance at a time, missed ticks coalesced into one run, an interval trigger of the
    job's setting; and a run asked for early moves the next run instead of adding one."""
    settings = replace(Settings(), worker=FAST)
    # Paused, the scheduler runs nothing: only the jobs as configured are read (no store).
    ctx = JobContext(store=cast(Store, None), holder="host:1:abc", settings=settings)
    scheduler = configure(BackgroundScheduler(timezone=UTC), ctx)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"heartbeat", *JOBS}
        for name, job in jobs.items():
            assert job.max_instances == 1 and job.coalesce is True, name
            seconds = heartbeat_seconds(settings) if name == "heartbeat" else (
                JOBS[name].interval(settings))  # fmt: skip
            assert job.trigger.interval.total_seconds() == seconds, name
        later = jobs["expire_sessions"].next_run_time + timedelta(hours=1)
        scheduler.modify_job("expire_sessions", next_run_time=later)
        assert ctx.request_run is not None
        ctx.request_run("expire_sessions")
        moved = scheduler.get_jobs()
        assert len(moved) == len(jobs)
        assert scheduler.get_job("expire_sessions").next_run_time < later
        ctx.running.add("reconcile_roles")  # running now: the watch compares again after it
        scheduler.modify_job("reconcile_roles", next_run_time=later)
        ctx.request_run("reconcile_roles")
        assert scheduler.get_job("reconcile_roles").next_run_time == later
    finally:
        scheduler.shutdown(wait=False)
