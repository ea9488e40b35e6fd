"""Leases: a named row in the database that at most one holder owns until it expires.

Workers use them to elect one leader among several processes and to keep one job from
running twice at once. Acquiring is a single atomic upsert (the same statement on SQLite and
PostgreSQL), so two processes racing for a free lease cannot both win. Expiry times are epoch
seconds; every process's clock must be roughly right (NTP), as for any lease.

This module decides nothing about scheduling; it must not import the worker.
"""

from __future__ import annotations

from datetime import UTC

from store.context import Store
from store.tx import read, transaction

# Bound parameters only ($name below are Python names of this module, never caller text).
_ACQUIRE = """
INSERT INTO worker_lease (name, holder, expires_at) VALUES ($name, $holder, $until)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE worker_lease.expires_at < $now OR worker_lease.holder = $holder
"""
_RELEASE = "DELETE FROM worker_lease WHERE name = $name AND holder = $holder"
_CURRENT = "SELECT holder, expires_at FROM worker_lease WHERE name = $name"


def epoch_now(store: Store) -> float:
    """The store clock (naive UTC) as epoch seconds; tests move it with their clock."""
    return store.clock().replace(tzinfo=UTC).timestamp()


@transaction
def acquire_lease(
    store: Store, name: str, holder: str, ttl_seconds: float, now: float | None = None
) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``now + ttl_seconds``. True when the
    caller holds it afterwards; False while another holder's lease has not expired."""
    now = epoch_now(store) if now is None else now
    until = now + ttl_seconds
    params = {"name": name, "holder": holder, "until": until, "now": now}
    cursor = store.db.execute(_ACQUIRE, globals={}, locals=params)
    return bool(cursor.rowcount == 1)


@transaction
def release_lease(store: Store, name: str, holder: str) -> bool:
    """Give the lease up at once (only if ``holder`` has it) so another can take over."""
    cursor = store.db.execute(_RELEASE, globals={}, locals={"name": name, "holder": holder})
    return bool(cursor.rowcount)


@read
def current_leader(store: Store, name: str, now: float | None = None) -> str | None:
    """Who holds lease ``name`` right now, or None when it is free or expired."""
    now = epoch_now(store) if now is None else now
    rows = store.db.select(_CURRENT, globals={}, locals={"name": name})
    if not rows:
        return None
    holder, expires_at = rows[0]
    return str(holder) if float(expires_at) >= now else None


@read
def lease_expiry(store: Store, name: str) -> float | None:
    """Epoch seconds at which lease ``name`` expires, or None when there is no row."""
    rows = store.db.select(_CURRENT, globals={}, locals={"name": name})
    return float(rows[0][1]) if rows else None


PROCESS_LEASE_PREFIX = "process:"
"""Leases named ``process:<nonce>`` are held by each running ``serve`` and ``worker`` process
for as long as it runs (renewed, released on exit): the database is in use while one lives."""

LIVE_PROCESSES = (
    "SELECT name, holder FROM worker_lease WHERE name LIKE {p} AND expires_at >= {p} ORDER BY name"
)
"""The unexpired process leases. ``{p}`` is the driver's placeholder; the parameters are
``PROCESS_LEASE_PREFIX + "%"`` and the epoch seconds now."""
