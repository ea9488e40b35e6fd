"""``trident-scim worker``: run the background jobs, run one now, or show worker health.

* ``worker`` runs the scheduler until SIGTERM/SIGINT (several may run: one leads);
* ``worker --once JOB`` runs one job now and prints its outcome (exit 1 when it failed or
  could not run), for operators, cron and tests;
* ``worker --list`` lists the jobs, their periods and last runs;
* ``worker status [--json]`` shows the leader, the health of every job and the large
  changes still running in batches (member moves, group deletions, role recomputations),
  each with how far it got.

Only translation: the jobs live in ``worker.jobs``, the records in ``store``.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from cli.context import CliContext, CliError, add_json_flag
from cli.output import iso_utc, print_json, table, utc_seconds
from cli.presence import announced
from store.context import Store
from store.domain.display import clip, percent_done, safe_text
from store.queries.jobs import worker_health
from store.records import JobHealth, JobRunRecord, LargeChange
from store.services.recompute_queue import in_progress
from worker.jobs import JOBS, JobContext, new_holder_id, run_job
from worker.scheduler import keeping_leases, run_blocking, run_blocking_when_available

STATUS_DETAIL = 60
"""Characters of a job's last summary or error that ``worker status`` shows (--json: all)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker",
        help="background jobs: reconciliation, session expiry, Last Used, retention",
        description="Run the background jobs until stopped (SIGTERM/SIGINT), or one job now.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--once",
        metavar="JOB",
        choices=sorted(JOBS),
        help=f"run one job now and exit ({', '.join(sorted(JOBS))})",
    )
    mode.add_argument("--list", action="store_true", help="list the jobs and their last runs")
    add_json_flag(parser)
    parser.set_defaults(func=_worker)
    actions = parser.add_subparsers(dest="worker_command", metavar="ACTION")
    status = actions.add_parser(
        "status", help="the leader, the health of every job and the large changes running"
    )
    add_json_flag(status)
    status.set_defaults(func=_status)


def _worker(ctx: CliContext) -> int:
    if ctx.args.once:
        return _once(ctx, ctx.args.once)
    if ctx.args.list:
        return _list(ctx)

    # A database outage at start is waited out (with backoff), not a crash into a restart
    # loop; a wrong config or missing permissions still end the command at once.
    def run(store: Store) -> None:
        with announced(store, "worker"):
            run_blocking(store, ctx.settings)

    run_blocking_when_available(lambda: ctx.store(create=True), ctx.settings, run=run)
    return 0


def _once(ctx: CliContext, name: str) -> int:
    store = ctx.store(create=True)
    job_ctx = JobContext(store=store, holder=new_holder_id(), settings=ctx.settings)
    with keeping_leases(job_ctx):
        run = run_job(job_ctx, name, require_leader=False)
    if run is None:
        raise CliError(
            f"{name} did not run: it is running in another process, or the "
            "database is unavailable (see the log)"
        )
    if ctx.args.json:
        print_json(ctx, _run_json(run))
    elif run.outcome == "ok":
        ctx.out(f"{name}: ok, {run.changed} changed: {safe_text(run.summary)}")
    else:
        ctx.out(f"{name}: {run.outcome}: {safe_text(run.error)}")
    return 0 if run.outcome == "ok" else 1


def _list(ctx: CliContext) -> int:
    health = {h.job: h for h in worker_health(ctx.store(), jobs=list(JOBS)).jobs}
    if ctx.args.json:
        return print_json(ctx, [_job_json(ctx, health[name]) for name in JOBS])
    rows = []
    for name, spec in JOBS.items():
        last = health[name].last_run
        rows.append(
            [
                name,
                _every(spec.interval(ctx.settings)),
                _when(last.started if last else None),
                last.outcome if last else "never run",
                last.changed if last else "",
                spec.description,
            ]
        )
    ctx.out(table(rows, ["JOB", "EVERY", "LAST RUN", "OUTCOME", "CHANGED", "WHAT IT DOES"]))
    return 0


def _status(ctx: CliContext) -> int:
    health = worker_health(ctx.store(), jobs=list(JOBS))
    changes = in_progress(ctx.store())
    if ctx.args.json:
        return print_json(
            ctx,
            {
                "leader": health.leader,
                "lease_expires": iso_utc(health.lease_expires),
                "jobs": [_job_json(ctx, job) for job in health.jobs],
                "large_changes": [_change_json(change) for change in changes],
            },
        )
    ctx.out(
        f"leader: {safe_text(health.leader) or 'none (no worker is running)'}"
        + (f" (lease until {_when(health.lease_expires)})" if health.leader else "")
    )
    rows = []
    for job in health.jobs:
        last = job.last_run
        note = "" if last is None else (last.error if last.outcome != "ok" else last.summary)
        rows.append(
            [
                job.job,
                _when(last.started if last else None),
                last.outcome if last else "never run",
                _when(job.last_ok),
                clip(note, STATUS_DETAIL),
            ]
        )
    ctx.out(table(rows, ["JOB", "LAST RUN", "OUTCOME", "LAST OK", "DETAIL"]))
    _print_changes(ctx, changes)
    return 0


def _print_changes(ctx: CliContext, changes: list[LargeChange]) -> None:
    """The large changes running in batches, with their progress (they finish in the
    process that began them, or in the worker's reconcile after a restart)."""
    if not changes:
        ctx.out("large changes in progress: none")
        return
    ctx.out("large changes in progress:")
    rows = [
        [
            change.id,
            change.group,
            change.what,
            _progress(change),
            _when(change.started),
            change.actor,
        ]
        for change in changes
    ]
    ctx.out(table(rows, ["ID", "GROUP", "CHANGE", "DONE", "STARTED", "BY"]))


def _progress(change: LargeChange) -> str:
    percent = percent_done(change.done, change.total)
    return f"{change.done:,} of {change.total:,} {change.noun} ({percent}%)"


def _change_json(change: LargeChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "kind": change.kind,
        "group": change.group,
        "done": change.done,
        "total": change.total,
        "actor": change.actor,
        "started": iso_utc(change.started),
    }


def _job_json(ctx: CliContext, job: JobHealth) -> dict[str, Any]:
    return {
        "job": job.job,
        "interval_seconds": JOBS[job.job].interval(ctx.settings) if job.job in JOBS else None,
        "last_run": None if job.last_run is None else _run_json(job.last_run),
        "last_ok": iso_utc(job.last_ok),
        "last_error": None if job.last_error is None else _run_json(job.last_error),
    }


def _run_json(run: JobRunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job,
        "started": iso_utc(run.started),
        "finished": iso_utc(run.finished),
        "outcome": run.outcome,
        "changed": run.changed,
        "summary": run.summary,
        "error": run.error,
        "holder": run.holder,
    }


def _when(value: datetime | None) -> str:
    return utc_seconds(value, empty="-", suffix=" UTC")


def _every(seconds: float) -> str:
    if seconds <= 0:
        return "off"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"
