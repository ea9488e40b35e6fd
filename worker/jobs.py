"""The worker's jobs: plain, idempotent functions of a ``JobContext``, and ``run_job``.

Each job calls one ``store/`` use case and returns ``(changed, summary)``; running it twice
in a row changes nothing the second time. ``run_job`` adds what makes several worker
processes safe on one database:

* the ``worker`` leader lease: only its holder runs scheduled jobs, so each job runs once per
  tick however many processes run the scheduler; a crashed leader's lease expires after
  ``lease_ttl_seconds`` and another process takes over;
* a lease per job (``job:<name>``) held while it runs, so an operator's ``--once`` or a
  leadership handover never runs the same job twice at the same time;
* a run record per run (``running`` -> ``ok``/``error``); a failing job is logged and
  recorded, and its next run still happens.

The scheduler only wires these to triggers. Nothing here imports the scheduler, the API or
the TUI, and nothing here touches the ORM.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from store.config import Settings
from store.context import Store
from store.domain.enums import JobOutcome
from store.errors import StoreError, Unavailable
from store.queries.jobs import LEADER_LEASE, job_run
from store.records import JobRunRecord
from store.services import activity, maintenance, sessions, tokens
from store.services.jobs import finish_run, prune_runs, start_run
from store.services.lease import acquire_lease, current_leader, release_lease
from worker.outage import Outage

log = logging.getLogger(__name__)

ACTOR = "worker"
"""Who the worker's changes are recorded as in the audit history."""
RECONCILED = "reconciled_mapping"


def new_holder_id() -> str:
    """``host:pid:nonce``: tells operators which process leads, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class JobContext:
    """What every job gets: the store, this process's lease holder id and the settings.

    ``state`` is per-process memory between runs (the mapping digest last reconciled);
    ``running`` the jobs this process is running now; ``request_run`` asks the scheduler
    to run a job now (None: run it inline)."""

    store: Store
    holder: str
    settings: Settings
    state: dict[str, Any] = field(default_factory=dict)
    request_run: Callable[[str], None] | None = None
    held: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    outage: Outage = field(default_factory=Outage)

    @property
    def ttl(self) -> float:
        return float(self.settings.worker.lease_ttl_seconds)

    def held_leases(self) -> list[str]:
        with self.lock:
            return sorted(self.held)


JobFn = Callable[[JobContext], tuple[int, str]]


# ---- the jobs -------------------------------------------------------------------------------


def reconcile_roles(ctx: JobContext) -> tuple[int, str]:
    """Recompute every user's IdP roles from memberships and the current mapping."""
    digest = maintenance.mapping_fingerprint(ctx.store)
    changed = maintenance.reconcile_roles(ctx.store, actor=ACTOR)
    # Remember the mapping this run started from: an edit made during the run differs
    # from it, so the mapping watch asks for one more run.
    ctx.state[RECONCILED] = digest
    return changed, f"{changed} IdP role assignment(s) added or removed"


def mapping_watch(ctx: JobContext) -> tuple[int, str]:
    """Start a reconciliation as soon as the group-to-role mapping differs from the one the
    last reconciliation in this process applied (or none ran here yet: a new leader)."""
    digest = maintenance.mapping_fingerprint(ctx.store)
    if digest == ctx.state.get(RECONCILED):
        return 0, "mapping unchanged"
    if "reconcile_roles" in ctx.running:
        return 0, "mapping changed; a reconciliation is running"
    if ctx.request_run is not None:
        ctx.request_run("reconcile_roles")
        return 0, "mapping changed; reconciliation requested"
    run = run_job(ctx, "reconcile_roles", require_leader=False)
    if run is None:
        return 0, "mapping changed; reconciliation is running elsewhere"
    return 0, f"mapping changed; reconciliation {run.outcome}: {run.summary or run.error}"


def expire_sessions(ctx: JobContext) -> tuple[int, str]:
    """End sessions past their timeouts and any left open for an inactive or deleted user."""
    ended = 0
    for _ in range(100):  # each call ends a bounded batch; stop when one finds nothing
        batch = sessions.expire_sessions(ctx.store)
        ended += batch
        if batch == 0:
            break
    return ended, f"{ended} session(s) ended"


def update_last_used(ctx: JobContext) -> tuple[int, str]:
    """Move each token's Last Used to its newest logged request."""
    changed = maintenance.update_last_used(ctx.store)
    return changed, f"Last Used moved for {changed} token(s)"


def flag_stale_tokens(ctx: JobContext) -> tuple[int, str]:
    """Flag tokens whose IdP has gone quiet; clear the flag when it pushes again."""
    changed = maintenance.flag_stale_tokens(ctx.store)
    hours = ctx.settings.worker.stale_after_hours
    return changed, f"{changed} token(s) flagged or cleared (threshold {hours:g} h)"


def prune_activity(ctx: JobContext) -> tuple[int, str]:
    """Drop request-log entries and run records past their retention and recovered
    rate-limit buckets (never audit)."""
    worker = ctx.settings.worker
    now = ctx.store.clock()
    entries = activity.prune_activity(
        ctx.store, now - timedelta(days=worker.activity_retention_days), worker.activity_max_rows
    )
    runs = prune_runs(ctx.store, now - timedelta(days=worker.job_run_retention_days))
    # Recovered rate-limit buckets (one per token and per failing client address) mean the
    # same as no row: without this, every address that ever failed would keep one forever.
    buckets = tokens.prune_rate_buckets(ctx.store)
    return entries + runs + buckets, (
        f"{entries} request-log entr(ies), {runs} run record(s) and "
        f"{buckets} recovered rate-limit bucket(s) pruned"
    )


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: JobFn
    interval_key: str  # the WorkerSettings field holding its period in seconds
    description: str

    def interval(self, settings: Settings) -> float:
        return float(getattr(settings.worker, self.interval_key))


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "reconcile_roles",
            reconcile_roles,
            "reconcile_seconds",
            "recompute IdP roles of every user; repair drift",
        ),
        JobSpec(
            "mapping_watch",
            mapping_watch,
            "mapping_watch_seconds",
            "reconcile at once when the group-to-role mapping changes",
        ),
        JobSpec(
            "expire_sessions",
            expire_sessions,
            "session_expiry_seconds",
            "end sessions past their timeouts or of inactive users",
        ),
        JobSpec(
            "update_last_used",
            update_last_used,
            "last_used_seconds",
            "set each token's Last Used from the request log",
        ),
        JobSpec(
            "flag_stale_tokens",
            flag_stale_tokens,
            "stale_check_seconds",
            "flag tokens whose IdP has stopped pushing",
        ),
        JobSpec(
            "prune_activity",
            prune_activity,
            "retention_seconds",
            "prune the request log and old run records",
        ),
    )
}
"""Every job by name, with the setting that holds its period (0 turns a job off)."""


# ---- running a job under the leases ---------------------------------------------------------


def job_lease(name: str) -> str:
    return f"job:{name}"


def heartbeat(ctx: JobContext) -> bool:
    """Take or renew the leader lease and renew every job lease this process holds.
    Returns whether this process leads. Runs every third of the lease TTL; while the
    database is down it only tries when the outage's backoff says so."""
    if not ctx.outage.may_try(time.monotonic()):
        return False
    try:
        leading = acquire_lease(ctx.store, LEADER_LEASE, ctx.holder, ctx.ttl)
        renew_held(ctx)
    except Unavailable as exc:
        database_failed(ctx, exc)
        return False
    except StoreError as exc:
        log.warning("lease renewal failed: %s", exc)
        return False
    database_answered(ctx)
    if leading != ctx.state.get("leading"):
        ctx.state["leading"] = leading
        if leading:
            log.info("worker %s now leads and runs the jobs", ctx.holder)
        else:
            log.info(
                "worker %s stands by; %s leads", ctx.holder, current_leader(ctx.store, LEADER_LEASE)
            )
    return leading


def database_failed(ctx: JobContext, exc: Unavailable) -> None:
    """One warning when an outage starts; the retries after it stay quiet (debug)."""
    if ctx.outage.failed(time.monotonic()):
        log.warning(
            "database unavailable (%s): jobs pause and retry, backing off up to %gs",
            exc.message,
            ctx.outage.cap,
        )
    else:
        log.debug("database still unavailable: %s", exc.message)


def database_answered(ctx: JobContext) -> None:
    if ctx.outage.succeeded():
        log.info("database reachable again: jobs resume")


def renew_held(ctx: JobContext) -> None:
    """Keep the job leases of running jobs alive, however long the jobs take."""
    for name in ctx.held_leases():
        if not acquire_lease(ctx.store, name, ctx.holder, ctx.ttl):
            log.warning("lease %s was taken over by another process", name)


def release_all(ctx: JobContext) -> None:
    """Give up every lease this process holds so another process takes over at once."""
    for name in [*ctx.held_leases(), LEADER_LEASE]:
        try:
            release_lease(ctx.store, name, ctx.holder)
        except StoreError as exc:
            log.warning("could not release lease %s: %s", name, exc)
    with ctx.lock:
        ctx.held.clear()
    ctx.state["leading"] = False


def run_job(ctx: JobContext, name: str, require_leader: bool = True) -> JobRunRecord | None:
    """Run job ``name`` once under its leases and record the run. Returns the run record,
    or None when it did not run (not the leader, running elsewhere, database down).
    Never raises: a failing job is logged and recorded as ``error``."""
    spec = JOBS[name]
    lease = job_lease(name)
    if not ctx.outage.may_try(time.monotonic()):
        return None  # the database is down and its backoff has not run out
    try:
        if require_leader and not acquire_lease(ctx.store, LEADER_LEASE, ctx.holder, ctx.ttl):
            return None
        if not acquire_lease(ctx.store, lease, ctx.holder, ctx.ttl):
            log.info("job %s is running in another process; not started", name)
            return None
    except Unavailable as exc:
        database_failed(ctx, exc)
        return None
    except StoreError as exc:
        log.warning("job %s not started: %s", name, exc)
        return None
    database_answered(ctx)
    with ctx.lock:
        ctx.held.add(lease)
        ctx.running.add(name)
    try:
        return _execute(ctx, spec)
    except Unavailable as exc:  # the database went away during the run
        database_failed(ctx, exc)
        return None
    except Exception:  # the run record could not be written: the database is failing
        log.exception("job %s: run not recorded", name)
        return None
    finally:
        with ctx.lock:
            ctx.held.discard(lease)
            ctx.running.discard(name)
        try:
            release_lease(ctx.store, lease, ctx.holder)
        except StoreError as exc:  # it expires by itself
            if not ctx.outage.down:
                log.warning("could not release lease %s: %s", lease, exc)


def _execute(ctx: JobContext, spec: JobSpec) -> JobRunRecord | None:
    run_id = start_run(ctx.store, spec.name, ctx.holder)
    try:
        changed, summary = spec.fn(ctx)
    except Exception as exc:
        if isinstance(exc, Unavailable):  # an outage, not a bug: no traceback
            log.warning("job %s interrupted: %s", spec.name, exc.message)
        else:
            log.exception("job %s failed", spec.name)
        finish_run(ctx.store, run_id, JobOutcome.ERROR, error=f"{type(exc).__name__}: {exc}")
    else:
        finish_run(ctx.store, run_id, JobOutcome.OK, changed=changed, summary=summary)
        level = logging.INFO if changed else logging.DEBUG
        log.log(level, "job %s: %s", spec.name, summary)
    return job_run(ctx.store, run_id)
