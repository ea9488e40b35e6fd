"""Which request-log entries are aggregated, and how much of them is kept. Pure: no I/O.

A refused request (401: no or a bad token; 429: throttled) says little on its own and comes in
floods: one client reached 2,000 a second, 6 KB each. Such entries are folded into one row per
client address, status, token and minute, with a count (``hits``), and keep only short text,
so a flood grows the log by one small row a minute per address instead of gigabytes a day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from store.records import ActivityInput

AGGREGATED_STATUSES = frozenset({401, 429})
PATH_CAP = 256
USER_AGENT_CAP = 128
DETAIL_CAP = 256

AggregateKey = tuple[datetime, str, int, int, str]
"""(minute, client address, status, token id or 0, what was presented: ``label_kind``)."""

UNKNOWN = "unknown "
"""How the label of a token that matches none begins (then its display prefix)."""


def label_kind(token_name: str | None) -> str:
    """What a refusal's row is kept apart by: the label of what was presented (``revoked
    NAME``, ``(no token)``, ``(malformed)``, a token's name), except that every unknown token
    is one kind, so guessing with ever-new tokens still adds one row a minute, not one each."""
    name = token_name or ""
    return UNKNOWN if name.startswith(UNKNOWN) else name


def is_aggregated(item: ActivityInput) -> bool:
    return item.status in AGGREGATED_STATUSES


def slim(item: ActivityInput) -> ActivityInput:
    """A refused request as it is kept: short path, agent and detail, no query text."""
    if not is_aggregated(item):
        return item
    return replace(
        item,
        path=item.path[:PATH_CAP],
        user_agent=item.user_agent[:USER_AGENT_CAP],
        detail=item.detail[:DETAIL_CAP],
        query="",
    )


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def aggregate_key(item: ActivityInput) -> AggregateKey:
    return (
        minute_of(item.at),
        item.client,
        item.status,
        item.token_id or 0,
        label_kind(item.token_name),
    )


def split(
    items: list[ActivityInput],
) -> tuple[list[ActivityInput], dict[AggregateKey, tuple[ActivityInput, int]]]:
    """(entries kept one row each, {key: (the latest refusal of that key, how many)}). A
    folded row's time is its latest request's: a throttled token's Last Used stays exact."""
    singles: list[ActivityInput] = []
    groups: dict[AggregateKey, tuple[ActivityInput, int]] = {}
    for item in items:
        if not is_aggregated(item):
            singles.append(item)
            continue
        key = aggregate_key(item)
        hits = max(1, item.hits)
        if key in groups:
            latest, seen = groups[key]
            hits += seen
            item = item if item.at >= latest.at else latest
        groups[key] = (slim(item), hits)
    return singles, groups


def status_text(status: int, hits: int) -> str:
    """How a log entry's status is shown: ``401 ×75`` for an entry of 75 refusals."""
    return f"{status} ×{hits}" if hits > 1 else str(status)
