"""The request/activity log: what each IdP sent, written in batches, pruned by age.

The API keeps one ``ActivityInput`` per request in memory and hands a batch here about once a
second, so logging costs one transaction per batch instead of a write per request. Text is
cut to the column sizes (a hostile request must not fail the batch). Pruning touches only this
log: audit history is never pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pony.orm import select

from store.context import Store, naive_utc
from store.records import ActivityInput
from store.tx import transaction

PRUNE_CHUNK = 5000
"""Rows deleted per transaction, so a large prune never holds the write lock for long."""


def _text(value: str | None, size: int) -> str:
    # Control characters would garble the operators' terminal; keep printable text only.
    clean = "".join(ch if ch.isprintable() else "?" for ch in (value or "")[:size])
    return clean[:size]


@transaction
def record_activity(store: Store, items: Sequence[ActivityInput]) -> int:
    """Write a batch of request entries in one transaction; returns how many were written."""
    Activity = store.db.Activity
    for item in items:
        Activity(
            at=naive_utc(item.at),
            token_id=item.token_id,
            token_name=_text(item.token_name, 256),
            client=_text(item.client, 128),
            method=_text(item.method, 16) or "?",
            path=_text(item.path, 1024) or "/",
            query=_text(item.query, 4096),
            status=int(item.status),
            latency_ms=float(item.latency_ms),
            scim_type=_text(item.scim_type, 64),
            detail=_text(item.detail, 2048),
            user_agent=_text(item.user_agent, 256),
        )
    return len(items)


@transaction
def _prune_chunk(store: Store, cutoff: datetime) -> int:
    Activity = store.db.Activity
    ids = select(a.id for a in Activity if a.at < cutoff).order_by(1)[:PRUNE_CHUNK]
    if not ids:
        return 0
    highest = max(ids)
    # The chunk is exactly the old rows with an id up to the highest one selected.
    query = Activity.select(lambda a: a.at < cutoff and a.id <= highest)
    return int(query.delete(bulk=True))


def prune_activity(store: Store, older_than: datetime, max_chunks: int = 1000) -> int:
    """Delete log entries recorded before ``older_than`` (in chunks, each its own
    transaction); returns how many were deleted. Audit events are never touched."""
    cutoff = naive_utc(older_than)
    deleted = 0
    for _ in range(max_chunks):
        removed = _prune_chunk(store, cutoff)
        deleted += removed
        if removed < PRUNE_CHUNK:
            break
    return deleted
