"""Reading leases (see ``store.services.lease`` for taking and giving them up): who holds a
lease now and until when. The rule of when a lease is live is ``store.domain.leases``.

Reads only; must not import ``store.services``.
"""

from __future__ import annotations

from datetime import UTC

from store.context import Store
from store.domain.leases import is_live
from store.sql import select_rows
from store.tx import read

_CURRENT = "SELECT holder, expires_at FROM worker_lease WHERE name = $name"


def epoch_now(store: Store) -> float:
    """The store clock (naive UTC) as epoch seconds; tests move it with their clock."""
    return store.clock().replace(tzinfo=UTC).timestamp()


@read
def current_leader(store: Store, name: str, now: float | None = None) -> str | None:
    """Who holds lease ``name`` right now, or None when it is free or expired."""
    now = epoch_now(store) if now is None else now
    rows = select_rows(store.db, _CURRENT, {"name": name})
    if not rows:
        return None
    holder, expires_at = rows[0]
    return str(holder) if is_live(float(expires_at), now) else None


@read
def lease_expiry(store: Store, name: str) -> float | None:
    """Epoch seconds at which lease ``name`` expires, or None when there is no row."""
    rows = select_rows(store.db, _CURRENT, {"name": name})
    return float(rows[0][1]) if rows else None
