"""The request/activity log as operators read it: recent entries, errors first, filtered.

Read only. "Errors first" keeps failures (status >= 400, e.g. the exact filter behind a 400
invalidFilter) on top without hiding the normal traffic: up to half the page goes to the most
recent errors (more when there is little else), the rest to the most recent other entries.
``recent_activity`` is the one query of the log for every edge (TUI and CLI): by token,
status class, time and text. Filter values travel as bound parameters (Pony lambdas with
closure variables); LIKE wildcards in them are escaped by Pony.

``collapse_refusals`` folds runs of identical refusals ("14x 429 in 20 s") so a burst of
429s does not bury the one 400 that matters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pony.orm import count, desc, select

from store.context import Store, as_utc, naive_utc
from store.errors import InvalidInput
from store.records import ActivityRecord, ActivityStats
from store.tx import read

ERROR_STATUS = 400
MAX_TEXT = 256
"""Longest filter text accepted (the longest logged field is cut far shorter on screen)."""
_STATUS_SPEC = re.compile(r"^([1-5])(xx|\d\d)$")


@dataclass(frozen=True)
class ActivityFilter:
    """Which log entries to show; every field empty means all of them."""

    token: str = ""  # part of the token's name, or of an unknown token's prefix
    status: str = ""  # "4xx", "429", or "error" (every status >= 400)
    since: datetime | None = None
    text: str = ""  # part of the path, filter, error, client address or User-Agent


def status_bounds(spec: str) -> tuple[int, int] | None:
    """``"4xx"`` -> (400, 500), ``"429"`` -> (429, 430), ``"error"`` -> (400, 600),
    ``""`` -> None (any status). Anything else is refused with a readable message."""
    spec = (spec or "").strip().lower()
    if not spec:
        return None
    if spec in ("error", "errors"):
        return ERROR_STATUS, 600
    found = _STATUS_SPEC.match(spec)
    if found is None:
        raise InvalidInput("a status is a class like 4xx, a code like 429, or 'error'", "status")
    if found.group(2) == "xx":
        low = int(found.group(1)) * 100
        return low, low + 100
    return int(spec), int(spec) + 1


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


def _filtered(store: Store, token_id: int | None, wanted: ActivityFilter) -> Any:
    """The Pony query of matching entries; every value is a closure variable (bound)."""
    query = store.db.Activity.select()
    if token_id is not None:
        query = query.filter(lambda a: a.token_id == token_id)
    bounds = status_bounds(wanted.status)
    if bounds is not None:
        low, high = bounds
        query = query.filter(lambda a: a.status >= low and a.status < high)
    if wanted.since is not None:
        cutoff = naive_utc(wanted.since)
        query = query.filter(lambda a: a.at >= cutoff)
    token = _needle(wanted.token)
    if token:
        query = query.filter(lambda a: token in a.token_name.lower())
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


def _newest(query: Any, limit: int) -> list[Any]:
    return list(query.order_by(lambda a: (desc(a.at), desc(a.id)))[:limit])


@read
def recent_activity(
    store: Store,
    limit: int = 200,
    errors_first: bool = True,
    token_id: int | None = None,
    wanted: ActivityFilter | None = None,
) -> list[ActivityRecord]:
    """The newest entries matching ``wanted`` (of one token when ``token_id`` is given),
    newest first; with ``errors_first`` the errors come before the rest."""
    limit = max(0, limit)
    query = _filtered(store, token_id, wanted or ActivityFilter())
    if not errors_first:
        return [_record(a) for a in _newest(query, limit)]
    errors = _newest(query.filter(lambda a: a.status >= ERROR_STATUS), limit)
    others = _newest(query.filter(lambda a: a.status < ERROR_STATUS), limit)
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
            runs.append(ActivityRun(record, 1, record.at))
            continue
        run = runs[where[key]]
        oldest = min(run.oldest or run.record.at, record.at)
        runs[where[key]] = ActivityRun(run.record, run.count + 1, oldest)
    return runs


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
