"""The database side of the metrics: one read, bounded, when Prometheus scrapes.

Worker health and the lease live in the database (the worker may run in another process or
on another host), and so do the tokens' Last Used and the audit history, so any API process
can report them. Every statement here is fixed text over a few small tables, grouped in SQL;
the token list is capped at ``MAX_TOKENS``. Nothing here runs on a SCIM request.
"""

from __future__ import annotations

from datetime import UTC

from store.context import Store, as_utc
from store.domain.enums import AuditAction
from store.queries.jobs import worker_health
from store.records import MonitoringSnapshot, TokenUse
from store.sql import select_rows
from store.tx import read

MAX_TOKENS = 500
"""Active tokens reported at most (each is one time series)."""

_RUN_COUNTS = "SELECT job, outcome, COUNT(*) FROM worker_job_run GROUP BY job, outcome"
_DEACTIVATIONS = (
    f"SELECT actor, COUNT(*) FROM audit_event WHERE action = '{AuditAction.USER_DEACTIVATED}' "
    "GROUP BY actor"
)


def _tokens(store: Store) -> tuple[TokenUse, ...]:
    ScimToken = store.db.ScimToken
    active = ScimToken.select(lambda t: t.revoked_at is None).order_by(ScimToken.id)
    return tuple(
        TokenUse(t.name, as_utc(t.created), as_utc(t.last_used), t.stale_since is not None)
        for t in active[:MAX_TOKENS]
    )


@read
def monitoring_snapshot(store: Store) -> MonitoringSnapshot:
    health = worker_health(store)
    counts = tuple((str(j), str(o), int(n)) for j, o, n in select_rows(store.db, _RUN_COUNTS))
    deactivated = tuple((str(a), int(n)) for a, n in select_rows(store.db, _DEACTIVATIONS))
    return MonitoringSnapshot(
        at=store.clock().replace(tzinfo=UTC),
        worker=health,
        run_counts=counts,
        tokens=_tokens(store),
        deactivations=deactivated,
    )
