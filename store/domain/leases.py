"""When a lease is live: the one rule, and its SQL forms (tested against it on both backends).

A lease taken until T (epoch seconds) is held through T itself: live while ``now <= T``, so
another holder may take it over only once ``now > T``. Pure: the time is passed in.
"""

from __future__ import annotations


def is_live(expires_at: float, now: float) -> bool:
    return expires_at >= now


LIVE_SQL = "{expires} >= {now}"
"""``is_live`` in SQL: ``{expires}`` a column, ``{now}`` a bound parameter."""
TAKEOVER_SQL = "{expires} < {now}"
"""``not is_live`` in SQL: the condition under which another holder may take the lease."""
