"""Leases: a named row in the database that at most one holder owns until it expires.

Workers use them to elect one leader among several processes and to keep one job from
running twice at once. Acquiring is a single atomic upsert (the same statement on SQLite and
PostgreSQL), so two processes racing for a free lease cannot both win. Expiry times are epoch
seconds; every process's clock must be roughly right (NTP), as for any lease.

This module decides nothing about scheduling; it must not import the worker.
"""

from __future__ import annotations

from store.context import Store
from store.domain.leases import LIVE_SQL, TAKEOVER_SQL
from store.queries.leases import current_leader, epoch_now, lease_expiry
from store.sql import execute
from store.tx import transaction

__all__ = [
    "LIVE_PROCESSES",
    "PROCESS_LEASE_PREFIX",
    "acquire_lease",
    "current_leader",
    "epoch_now",
    "lease_expiry",
    "release_lease",
]

# Bound parameters only ($name below are Python names of this module, never caller text).
_ACQUIRE = f"""
INSERT INTO worker_lease (name, holder, expires_at) VALUES ($name, $holder, $until)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE {TAKEOVER_SQL.format(expires="worker_lease.expires_at", now="$now")}
   OR worker_lease.holder = $holder
"""
_RELEASE = "DELETE FROM worker_lease WHERE name = $name AND holder = $holder"


@transaction
def acquire_lease(
    store: Store, name: str, holder: str, ttl_seconds: float, now: float | None = None
) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``now + ttl_seconds``. True when the
    caller holds it afterwards; False while another holder's lease has not expired."""
    now = epoch_now(store) if now is None else now
    until = now + ttl_seconds
    params = {"name": name, "holder": holder, "until": until, "now": now}
    return execute(store.db, _ACQUIRE, params).rowcount == 1


@transaction
def release_lease(store: Store, name: str, holder: str) -> bool:
    """Give the lease up at once (only if ``holder`` has it) so another can take over."""
    return bool(execute(store.db, _RELEASE, {"name": name, "holder": holder}).rowcount)


PROCESS_LEASE_PREFIX = "process:"
"""Leases named ``process:<nonce>`` are held by each running ``serve`` and ``worker`` process
for as long as it runs (renewed, released on exit): the database is in use while one lives."""

LIVE_PROCESSES = (
    "SELECT name, holder FROM worker_lease WHERE name LIKE {p} AND "
    + LIVE_SQL.format(expires="expires_at", now="{p}")
    + " ORDER BY name"
)
"""The unexpired process leases. ``{p}`` is the driver's placeholder; the parameters are
``PROCESS_LEASE_PREFIX + "%"`` and the epoch seconds now."""
