"""The request/activity log as operators read it: recent entries, errors first, filtered.

Read only. "Errors first" keeps failures (status >= 400, e.g. the exact filter behind a 400
invalidFilter) on top without hiding the normal traffic: up to half the page goes to the most
recent errors (more when there is little else), the rest to the most recent other entries.
``recent_activity`` is the one query of the log for every edge (the TUI's activity and the
CLI's ``activity`` command): by token, status, time and text. Filter values travel as bound
parameters (Pony lambdas with closure variables); LIKE wildcards in them are escaped by Pony.

``collapse_refusals`` folds identical refusals ("14x 429 in 20 s") so a burst of 429s does
not bury the one 400 that matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pony.orm import desc, select
from pony.orm import sum as total  # Pony's SUM: the builtin's types take no column

from store import entities
from store.context import Store, as_utc, naive_utc
from store.domain.activity_filters import StatusRange
from store.domain.names import fold
from store.errors import InvalidInput
from store.records import ActivityRecord, ActivityStats
from store.tx import read

ERROR_STATUS = 400
ERRORS = StatusRange(ERROR_STATUS, 599)
"""Every refusal: 4xx and 5xx."""
MAX_TEXT = 256
"""Longest filter text accepted (the longest logged field is cut far shorter on screen)."""


def _record(a: entities.Activity) -> ActivityRecord:
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
        hits=a.hits,
        connection=a.connection or "",
    )


@dataclass(frozen=True)
class ActivityFilter:
    """Which entries to show: all of them by default. ``token_ids`` are the tokens of one
    name (its revoked predecessors included); ``status`` a code or class; ``since`` a time;
    ``token`` part of the logged token name (which names a refused token as ``revoked NAME``
    or ``unknown tscim_AbCd…``); ``connection`` the name of the IdP connection whose token
    sent the request (whole, any case: the name it had when the request was logged);
    ``text`` part of the path, filter, error, client address or User-Agent. Text is matched
    case-insensitively."""

    token_ids: tuple[int, ...] | None = None
    status: StatusRange | None = None
    since: datetime | None = None
    token: str = ""
    text: str = ""
    connection: str = ""


def _filtered(
    query: entities.Query[entities.Activity], wanted: ActivityFilter
) -> entities.Query[entities.Activity]:
    """Narrow a Pony query of log entries; every value is a closure variable (bound)."""
    if wanted.token_ids is not None:
        ids = wanted.token_ids
        query = query.filter(lambda a: a.token_id in ids)
    if wanted.status is not None:
        low, high = wanted.status.low, wanted.status.high
        query = query.filter(lambda a: a.status >= low and a.status <= high)
    if wanted.since is not None:
        cutoff = naive_utc(wanted.since)
        query = query.filter(lambda a: a.at >= cutoff)
    token = _needle(wanted.token)
    if token:
        query = query.filter(lambda a: token in a.token_name.lower())
    connection = _needle(wanted.connection)
    if connection:
        query = query.filter(
            lambda a: a.connection is not None and a.connection.lower() == connection
        )
    text = _needle(wanted.text)
    if text:
        query = query.filter(
            lambda a: (
                text in a.path.lower()
                or text in a.query.lower()
                or text in a.detail.lower()
                or text in a.scim_type.lower()
                or text in a.client.lower()
                or text in a.user_agent.lower()
            )
        )
    return query


def _needle(value: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"a filter text has at most {MAX_TEXT} characters", "text")
    return value.lower()


def _newest(
    store: Store, errors: bool | None, wanted: ActivityFilter, limit: int
) -> list[entities.Activity]:
    Activity = store.db.Activity
    if errors is None:
        query = Activity.select()
    elif errors:
        query = Activity.select(lambda a: a.status >= ERROR_STATUS)
    else:
        query = Activity.select(lambda a: a.status < ERROR_STATUS)
    query = _filtered(query, wanted)
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


@dataclass(frozen=True)
class ActivityRun:
    """One shown row of the log: an entry, or a run of identical refusals (``count`` > 1)
    shown as its newest entry, with the time of its oldest."""

    record: ActivityRecord
    count: int = 1
    oldest: datetime | None = None
    bounded: bool = False
    """True when a stored row already folded several refusals (``hits``): their first time
    is known only to the minute, so ``seconds`` is an upper bound."""

    @property
    def seconds(self) -> float:
        """How long the run lasted (0 for a single entry)."""
        oldest = self.oldest or self.record.at
        return max(0.0, (self.record.at - oldest).total_seconds())


def _refusal_key(a: ActivityRecord) -> tuple[object, ...]:
    return (a.status, a.method, a.path, a.token_name, a.client, a.query, a.scim_type, a.detail)


def collapse_refusals(records: Sequence[ActivityRecord]) -> list[ActivityRun]:
    """Fold identical refusals (status >= 400 and every logged field but time, latency and
    User-Agent equal) into one run at the place of the first (newest) of them; successes
    are never folded. Pure: the order of ``records`` is kept otherwise."""
    runs: list[ActivityRun] = []
    where: dict[tuple[object, ...], int] = {}
    for record in records:
        if record.status < ERROR_STATUS:
            runs.append(ActivityRun(record))
            continue
        key = _refusal_key(record)
        if key not in where:
            where[key] = len(runs)
            runs.append(ActivityRun(record, record.hits, _earliest(record), record.hits > 1))
            continue
        run = runs[where[key]]
        oldest = min(run.oldest or run.record.at, _earliest(record))
        bounded = run.bounded or record.hits > 1
        runs[where[key]] = ActivityRun(run.record, run.count + record.hits, oldest, bounded)
    return runs


def _earliest(record: ActivityRecord) -> datetime:
    """The earliest a logged row's requests can be: a row folding several refusals keeps
    only its newest time, within one minute (``store.domain.request_log``)."""
    return record.at.replace(second=0, microsecond=0) if record.hits > 1 else record.at


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
    rows = select((a.status, total(a.hits)) for a in Activity if a.at >= cutoff)[:]
    by_status = tuple(sorted(((int(s), int(n)) for s, n in rows), key=lambda r: (-r[1], r[0])))
    last = select(a.at for a in Activity).max() if by_status else None
    return ActivityStats(
        since=cutoff.replace(tzinfo=UTC),
        total=sum(n for _, n in by_status),
        errors=sum(n for s, n in by_status if s >= ERROR_STATUS),
        by_status=by_status,
        last_at=as_utc(last),
    )
