"""Job-run records: one row per worker job run (start, end, outcome, what it changed).

The worker writes them so operators can see its health. A run is started as ``running`` and
finished as ``ok`` or ``error``; a run left ``running`` by a process that died is marked
``abandoned`` when the next run of the same job starts (the caller holds that job's lease, so
no other run of it can still be alive). This module never schedules anything.
"""

from __future__ import annotations

from datetime import datetime

from store.context import Store, naive_utc
from store.domain import limits
from store.domain.enums import JobOutcome
from store.errors import InvalidInput, NotFound
from store.tx import transaction

_FINAL = (JobOutcome.OK, JobOutcome.ERROR)


@transaction
def start_run(store: Store, job: str, holder: str) -> int:
    """Record that ``holder`` starts ``job`` now; returns the run id."""
    if not job or len(job) > 64:
        raise InvalidInput("a job name has 1 to 64 characters", "job")
    now = store.clock()
    JobRun = store.db.JobRun
    for stale in JobRun.select(lambda r: r.job == job and r.outcome == JobOutcome.RUNNING):
        stale.outcome = JobOutcome.ABANDONED
        stale.finished = now
        stale.error = f"the process running it ({stale.holder}) stopped before it finished"
    run = JobRun(
        job=job,
        started=now,
        outcome=JobOutcome.RUNNING,
        changed=0,
        summary="",
        error="",
        holder=holder[: limits.HOLDER],
    )
    run.flush()
    return int(run.id)


@transaction
def finish_run(
    store: Store,
    run_id: int,
    outcome: str,
    changed: int = 0,
    summary: str = "",
    error: str = "",
) -> None:
    """Close a run with its outcome (``ok`` or ``error``), count of changes and summary."""
    if outcome not in _FINAL:
        raise InvalidInput(f"outcome must be one of {', '.join(_FINAL)}", "outcome")
    run = store.db.JobRun.get(id=run_id)
    if run is None:
        raise NotFound(f"job run {run_id} not found")
    run.finished = store.clock()
    run.outcome = outcome
    run.changed = max(0, int(changed))
    run.summary = (summary or "")[: limits.DETAIL]
    run.error = (error or "")[: limits.JOB_ERROR]


@transaction
def prune_runs(store: Store, older_than: datetime) -> int:
    """Delete finished run records started before ``older_than``; returns how many."""
    cutoff = naive_utc(older_than)
    query = store.db.JobRun.select(lambda r: r.started < cutoff and r.outcome != JobOutcome.RUNNING)
    return int(query.delete(bulk=True))
