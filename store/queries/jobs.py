"""Worker health for operators: recent job runs, the latest run of each job, the leader.

Read only. The list of job names belongs to the worker; callers may pass it so a job that
never ran still shows up (with no run).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pony.orm import desc

from store import entities
from store.context import Store, as_utc
from store.domain.enums import JobOutcome
from store.queries.leases import current_leader, lease_expiry
from store.records import JobHealth, JobRunRecord, WorkerHealth
from store.sql import select_rows
from store.tx import read

LEADER_LEASE = "worker"
"""Name of the lease whose holder runs the scheduled jobs (shared with the worker)."""


def _record(run: entities.JobRun) -> JobRunRecord:
    return JobRunRecord(
        id=run.id,
        job=run.job,
        started=run.started.replace(tzinfo=UTC),
        finished=as_utc(run.finished),
        outcome=JobOutcome(run.outcome),
        changed=run.changed,
        summary=run.summary or "",
        error=run.error or "",
        holder=run.holder,
    )


@read
def job_runs(store: Store, limit: int = 50, job: str | None = None) -> list[JobRunRecord]:
    """The most recent runs, newest first (of one job when ``job`` is given)."""
    JobRun = store.db.JobRun
    query = JobRun.select() if job is None else JobRun.select(lambda r: r.job == job)
    runs = query.order_by(desc(JobRun.started), desc(JobRun.id))[: max(0, limit)]
    return [_record(r) for r in runs]


@read
def job_run(store: Store, run_id: int) -> JobRunRecord | None:
    run = store.db.JobRun.get(id=run_id)
    return None if run is None else _record(run)


def _latest(store: Store, job: str, outcome: str | None = None) -> entities.JobRun | None:
    JobRun = store.db.JobRun
    if outcome is None:
        query = JobRun.select(lambda r: r.job == job)
    else:
        query = JobRun.select(lambda r: r.job == job and r.outcome == outcome)
    return query.order_by(desc(JobRun.started), desc(JobRun.id)).first()


@read
def worker_health(store: Store, jobs: Sequence[str] | None = None) -> WorkerHealth:
    """The leader and, per job, the latest run, the latest success and the latest failure."""
    names = (
        list(jobs)
        if jobs is not None
        else sorted(
            str(job) for (job,) in select_rows(store.db, "SELECT DISTINCT job FROM worker_job_run")
        )
    )
    health = []
    for name in names:
        last, ok, failed = (
            _latest(store, name),
            _latest(store, name, "ok"),
            _latest(store, name, "error"),
        )
        health.append(
            JobHealth(
                job=name,
                last_run=None if last is None else _record(last),
                last_ok=None if ok is None else as_utc(ok.started),
                last_error=None if failed is None else _record(failed),
            )
        )
    expiry = lease_expiry(store, LEADER_LEASE)
    return WorkerHealth(
        leader=current_leader(store, LEADER_LEASE),
        lease_expires=None if expiry is None else datetime.fromtimestamp(expiry, UTC),
        jobs=tuple(health),
    )
