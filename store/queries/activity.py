"""The request/activity log as operators read it: recent entries, errors first.

Read only. "Errors first" keeps failures (status >= 400, e.g. the exact filter behind a 400
invalidFilter) on top without hiding the normal traffic: up to half the page goes to the most
recent errors (more when there is little else), the rest to the most recent other entries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pony.orm import count, desc, select

from store.context import Store, as_utc, naive_utc
from store.domain.activity_filters import StatusRange
from store.domain.names import fold
from store.records import ActivityRecord, ActivityStats
from store.tx import read

ERROR_STATUS = 400


def _record(a: Any) -> ActivityRecord:
    return ActivityRecord(
        id=a.id,
        at=a.at.replace(tzinfo=UTC),
        method=a.method,
        path=a.path,
        status=a.status,
        latency_ms=a.latency_ms,
        token_id=a.token_id,
        token_name=a.token_name or "",
        client=a.client or "",
        query=a.query or "",
        scim_type=a.scim_type or "",
        detail=a.detail or "",
        user_agent=a.user_agent or "",
    )


@dataclass(frozen=True)
class ActivityFilter:
    """Which entries to show: all of them by default. ``token_ids`` are the tokens of one
    name (its revoked predecessors included); ``status`` a code or class; ``since`` a time."""

    token_ids: tuple[int, ...] | None = None
    status: StatusRange | None = None
    since: datetime | None = None


def _filtered(store: Store, query: Any, wanted: ActivityFilter) -> Any:
    if wanted.token_ids is not None:
        ids = wanted.token_ids
        query = query.filter(lambda a: a.token_id in ids)
    if wanted.status is not None:
        low, high = wanted.status.low, wanted.status.high
        query = query.filter(lambda a: a.status >= low and a.status <= high)
    if wanted.since is not None:
        cutoff = naive_utc(wanted.since)
        query = query.filter(lambda a: a.at >= cutoff)
    return query


def _newest(store: Store, errors: bool | None, wanted: ActivityFilter, limit: int) -> list[Any]:
    Activity = store.db.Activity
    if errors is None:
        query = Activity.select()
    elif errors:
        query = Activity.select(lambda a: a.status >= ERROR_STATUS)
    else:
        query = Activity.select(lambda a: a.status < ERROR_STATUS)
    query = _filtered(store, query, wanted)
    return list(query.order_by(desc(Activity.at), desc(Activity.id))[:limit])


@read
def recent_activity(
    store: Store,
    limit: int = 200,
    errors_first: bool = True,
    token_id: int | None = None,
    wanted: ActivityFilter | None = None,
) -> list[ActivityRecord]:
    """The newest entries (of one token when ``token_id`` is given, narrowed by ``wanted``),
    newest first; with ``errors_first`` the errors come before the rest."""
    limit = max(0, limit)
    wanted = wanted or ActivityFilter()
    if token_id is not None:
        wanted = replace(wanted, token_ids=(token_id,))
    if wanted.token_ids == ():
        return []
    if not errors_first:
        return [_record(a) for a in _newest(store, None, wanted, limit)]
    errors = _newest(store, True, wanted, limit)
    others = _newest(store, False, wanted, limit)
    shown_errors = min(len(errors), max(limit // 2, limit - len(others)))
    chosen = errors[:shown_errors] + others[: limit - shown_errors]
    return [_record(a) for a in chosen]


@read
def token_ids_named(store: Store, name: str) -> tuple[int, ...]:
    """Every token ever issued under ``name`` (any case), revoked ones included."""
    key = fold(name.strip())
    return tuple(sorted(t.id for t in store.db.ScimToken.select() if fold(t.name) == key))


@read
def activity_stats(store: Store, since: datetime) -> ActivityStats:
    """How many requests were recorded since ``since``, how many failed, by status."""
    cutoff = naive_utc(since)
    Activity = store.db.Activity
    rows = select((a.status, count(a)) for a in Activity if a.at >= cutoff)[:]
    by_status = tuple(sorted(((int(s), int(n)) for s, n in rows), key=lambda r: (-r[1], r[0])))
    last = select(a.at for a in Activity).max() if by_status else None
    return ActivityStats(
        since=cutoff.replace(tzinfo=UTC),
        total=sum(n for _, n in by_status),
        errors=sum(n for s, n in by_status if s >= ERROR_STATUS),
        by_status=by_status,
        last_at=as_utc(last),
    )
