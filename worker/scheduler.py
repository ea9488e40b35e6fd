"""Wiring only: APScheduler 3 triggers for the jobs of ``worker.jobs``.

``run_blocking`` is ``trident-scim worker`` (BlockingScheduler in the main thread, stopped
cleanly by SIGTERM/SIGINT); ``start_background_worker`` is what ``trident-scim serve`` runs
in-process. Every job gets an interval trigger from the settings with ``max_instances=1``,
``coalesce`` and a misfire grace; a heartbeat renews the leases every third of their TTL.
Shutting a scheduler down waits for the running job to finish, then releases the leases so
another process takes over without waiting for them to expire. No job logic lives here.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from store.config import Settings
from store.context import Store
from store.errors import Unavailable
from worker.jobs import JOBS, JobContext, heartbeat, new_holder_id, release_all, renew_held, run_job
from worker.outage import Outage

log = logging.getLogger(__name__)

POOL_THREADS = 4
"""Threads running jobs (each holds one database connection while it runs)."""


def heartbeat_seconds(settings: Settings) -> float:
    return max(0.5, settings.worker.lease_ttl_seconds / 3)


class _ReleasingShutdown:
    """Mixin: after the scheduler stops (running jobs finished), release the leases."""

    job_context: JobContext

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)  # type: ignore[misc]
        release_all(self.job_context)
        log.info("worker %s stopped; leases released", self.job_context.holder)


class WorkerBackgroundScheduler(_ReleasingShutdown, BackgroundScheduler):
    pass


class WorkerBlockingScheduler(_ReleasingShutdown, BlockingScheduler):
    pass


def configure(scheduler: Any, ctx: JobContext) -> Any:
    """Add the heartbeat and one interval job per enabled job; returns the scheduler."""
    now = datetime.now(UTC)
    beat = heartbeat_seconds(ctx.settings)
    scheduler.job_context = ctx
    scheduler.add_job(
        heartbeat,
        IntervalTrigger(seconds=beat),
        args=[ctx],
        id="heartbeat",
        name="heartbeat",
        next_run_time=now,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(beat)),
    )
    for spec in JOBS.values():
        interval = spec.interval(ctx.settings)
        if interval <= 0:
            log.info("job %s is turned off (%s = 0)", spec.name, spec.interval_key)
            continue
        # Every job runs at start (catching up after downtime), except the mapping watch:
        # the reconciliation at start already applies the current mapping.
        first = now + timedelta(seconds=interval) if spec.name == "mapping_watch" else now
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=interval),
            args=[ctx, spec.name],
            id=spec.name,
            name=spec.name,
            next_run_time=first,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
        )
    ctx.request_run = lambda name: _run_soon(scheduler, ctx, name)
    return scheduler


def _run_soon(scheduler: BaseScheduler, ctx: JobContext, name: str) -> None:
    # Moving the next run (rather than adding one) keeps one run per tick. While the job
    # runs there is nothing to do: the mapping watch compares again after it finished.
    if name not in ctx.running and scheduler.get_job(name) is not None:
        scheduler.modify_job(name, next_run_time=datetime.now(UTC))


def _new_scheduler(cls: type[Any]) -> Any:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per run
    return cls(timezone=UTC, executors={"default": ThreadPoolExecutor(POOL_THREADS)})


def start_background_worker(store: Store, settings: Settings | None = None) -> Any:
    """Start the jobs in background threads of this process (``serve`` runs this unless
    ``--no-worker``). Call ``.shutdown()`` on the returned scheduler when stopping."""
    settings = settings or store.settings
    ctx = JobContext(store=store, holder=new_holder_id(), settings=settings)
    scheduler = configure(_new_scheduler(WorkerBackgroundScheduler), ctx)
    scheduler.start()
    log.info("worker %s started in the background", ctx.holder)
    return scheduler


def run_blocking(store: Store, settings: Settings | None = None) -> None:
    """Run the jobs until SIGTERM or SIGINT, then finish the running job, release the
    leases and return (``trident-scim worker``)."""
    settings = settings or store.settings
    ctx = JobContext(store=store, holder=new_holder_id(), settings=settings)
    scheduler = configure(_new_scheduler(WorkerBlockingScheduler), ctx)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return  # already finishing the running job
        stopping.set()
        log.info("worker %s: %s received, stopping", ctx.holder, signal.Signals(signum).name)
        scheduler.shutdown(wait=True)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info(
        "worker %s started: %s",
        ctx.holder,
        ", ".join(
            f"{s.name} every {s.interval(settings):g}s"
            for s in JOBS.values()
            if s.interval(settings) > 0
        ),
    )
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not stopping.is_set():
            release_all(ctx)


def wait_for_database(
    open_store: Callable[[], Store], stop: threading.Event, outage: Outage | None = None
) -> Store | None:
    """Open the store, waiting out an outage with the worker's backoff (one log line when
    it starts, one when it ends) instead of exiting into a restart loop; None when ``stop``
    is set first. Errors other than an unreachable database are raised at once."""
    outage = outage or Outage()
    while not stop.is_set():
        try:
            store = open_store()
        except Unavailable as exc:
            if outage.failed(time.monotonic()):
                log.warning(
                    "database unavailable at start (%s): waiting, backing off up to %gs",
                    exc.message,
                    outage.cap,
                )
            stop.wait(outage.wait_seconds(time.monotonic()))
            continue
        if outage.succeeded():
            log.info("database reachable: starting the jobs")
        return store
    return None


def run_blocking_when_available(
    open_store: Callable[[], Store],
    settings: Settings,
    outage: Outage | None = None,
    run: Callable[[Store], None] | None = None,
) -> None:
    """``trident-scim worker``: wait for the database (SIGTERM/SIGINT end the wait), then
    ``run`` (by default ``run_blocking``) with the store."""
    stop = threading.Event()

    def stopping(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        store = wait_for_database(open_store, stop, outage)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if store is not None:
        (run or (lambda opened: run_blocking(opened, settings)))(store)


@contextmanager
def keeping_leases(ctx: JobContext) -> Iterator[None]:
    """Renew the job leases of ``ctx`` in a side thread while the body runs (for one-off
    runs outside a scheduler, e.g. ``worker --once``), so a long job keeps its lease."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(heartbeat_seconds(ctx.settings)):
            try:
                renew_held(ctx)
            except Exception:  # keep trying; the lease simply expires if this keeps failing
                log.warning("lease renewal failed", exc_info=True)

    thread = threading.Thread(target=keep, name="lease-keeper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)
