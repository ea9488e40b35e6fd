"""Metrics read from the database when Prometheus scrapes: worker health and its lease
holder, each active token's Last Used age, and deactivations so far (from the audit
history, which is never pruned, so the count only grows).

These figures are shared by every process (the worker may run elsewhere), so every API
process reports the same values: aggregate them with ``max without (instance)``. One read
per ``[metrics] database_refresh_seconds`` at most, however often or by how many scrapers;
when the database does not answer, ``trident_scim_database_up`` is 0 and the rest is left
out rather than reported stale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from api.metrics import PREFIX
from store.context import Store, as_utc
from store.errors import Unavailable
from store.queries.monitoring import monitoring_snapshot
from store.records import MonitoringSnapshot, WorkerHealth


def _gauge(name: str, doc: str, labels: list[str] | None = None,
           value: float | None = None) -> GaugeMetricFamily:  # fmt: skip
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels, value=value)


def _epoch(value: datetime | None) -> float:
    return 0.0 if value is None else value.timestamp()


def _worker_families() -> dict[str, GaugeMetricFamily]:
    return {
        "last_run": _gauge("worker_job_last_run_timestamp_seconds",
                           "Start of the job's latest run", ["worker_job"]),
        "last_ok": _gauge("worker_job_last_success_timestamp_seconds",
                          "Start of the job's latest successful run (0: never)", ["worker_job"]),
        "last_error": _gauge("worker_job_last_failure_timestamp_seconds",
                             "Start of the job's latest failed run (0: never)", ["worker_job"]),
        "duration": _gauge("worker_job_last_duration_seconds",
                           "Length of the job's latest run (absent while it runs)", ["worker_job"]),
        "outcome": _gauge("worker_job_last_outcome", "1 for the outcome of the job's "
                          "latest run (running, ok or error)", ["worker_job", "outcome"]),
        "runs": _gauge("worker_job_runs", "Runs kept in the worker's history "
                       "([worker] job_run_retention_days), by outcome", ["worker_job", "outcome"]),
    }  # fmt: skip


def worker_metrics(snapshot: MonitoringSnapshot) -> Iterator[Metric]:
    health: WorkerHealth = snapshot.worker
    holder = _gauge("worker_lease_holder", "1 for the worker process holding the lead lease "
                    "(host:pid:nonce); absent when no worker leads", ["holder"])  # fmt: skip
    if health.leader:
        holder.add_metric([health.leader], 1.0)
    yield holder
    yield _gauge("worker_lease_expires_timestamp_seconds", "When the lead lease runs out "
                 "unless renewed (0: no lease)", value=_epoch(health.lease_expires))  # fmt: skip
    families = _worker_families()
    for job in health.jobs:
        if job.last_run is not None:
            families["last_run"].add_metric([job.job], _epoch(job.last_run.started))
            families["outcome"].add_metric([job.job, job.last_run.outcome], 1.0)
        families["last_ok"].add_metric([job.job], _epoch(job.last_ok))
        failed = None if job.last_error is None else job.last_error.started
        families["last_error"].add_metric([job.job], _epoch(failed))
        last = job.last_run
        if last is not None and last.finished is not None:
            took = max(0.0, (last.finished - last.started).total_seconds())
            families["duration"].add_metric([job.job], took)
    for job_name, outcome, count in snapshot.run_counts:
        families["runs"].add_metric([job_name, outcome], float(count))
    yield from families.values()


def token_metrics(snapshot: MonitoringSnapshot, now: datetime) -> Iterator[Metric]:
    age = _gauge("token_last_used_age_seconds", "Seconds since the active token was last "
                 "used (since it was created, when never used), by connection (token name)",
                 ["connection"])  # fmt: skip
    stale = _gauge("token_stale", "1 when the worker flags the token's IdP as quiet for "
                   "[worker] stale_after_hours", ["connection"])  # fmt: skip
    for token in snapshot.tokens:
        since = token.last_used or token.created
        age.add_metric([token.name], max(0.0, (now - since).total_seconds()))
        stale.add_metric([token.name], 1.0 if token.stale else 0.0)
    yield age
    yield stale


def deactivation_metrics(snapshot: MonitoringSnapshot) -> Iterator[Metric]:
    doc = ("Users deactivated, from the audit history: source 'idp' (connection = token "
           "name), 'operator' or 'worker'")  # fmt: skip
    family = CounterMetricFamily(PREFIX + "deactivations", doc, labels=["source", "connection"])
    totals: dict[tuple[str, str], int] = {}
    for actor, count in snapshot.deactivations:
        kind, _, name = actor.partition(":")
        key = ("idp", name) if kind == "token" else (kind if kind in ("operator", "worker")
                                                     else "other", "")  # fmt: skip
        totals[key] = totals.get(key, 0) + count
    for (source, connection), count in sorted(totals.items()):
        family.add_metric([source, connection], float(count))
    yield family


class DatabaseCollector:
    """A prometheus-client collector over ``monitoring_snapshot``, cached for a while."""

    def __init__(self, store: Store, refresh_seconds: float) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, MonitoringSnapshot] | None = None

    def describe(self) -> list[Metric]:
        return []  # registering must not read the database

    def _snapshot(self) -> MonitoringSnapshot:
        with self._lock:  # concurrent scrapes share one read
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._refresh:
                self._cached = (now, monitoring_snapshot(self._store))
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        worker = self._store.settings.worker
        doc = "[worker] stale_after_hours in seconds: a token unused for longer is stale"
        yield _gauge("stale_after_seconds", doc, value=worker.stale_after_hours * 3600.0)
        try:
            snapshot = self._snapshot()
        except Unavailable:
            yield _gauge("database_up", "1 when the database answered the metrics read", value=0)
            return
        yield _gauge("database_up", "1 when the database answered the metrics read", value=1)
        yield from worker_metrics(snapshot)
        yield from token_metrics(snapshot, as_utc(self._store.clock()))
        yield from deactivation_metrics(snapshot)
