"""The request/activity log: what each IdP sent, written in batches, pruned by age.

The API keeps one ``ActivityInput`` per request in memory and hands a batch here about once a
second, so logging costs one transaction per batch instead of a write per request. Text is
cut to the column sizes (a hostile request must not fail the batch) and kept as received
otherwise: the edges make it safe for a terminal when they show it. Pruning touches only this
log: audit history is never pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from pony.orm import select

from store.context import Store, naive_utc
from store.queries.filtering import sql_timestamp
from store.records import ActivityInput
from store.tx import transaction

PRUNE_CHUNK = 5000
"""Rows deleted per transaction, so a large prune never holds the write lock for long."""


def _text(value: str | None, size: int) -> str:
    # Kept as received (cut to the column), so --json shows exactly what an IdP sent; every
    # edge renders it through store.domain.display before a terminal sees it. Only what no
    # database holds is replaced: NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8).
    value = (value or "")[:size]
    if "\x00" not in value and value.isascii():
        return value
    return "".join("\ufffd" if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)


_COLUMNS = (
    "at", "token_id", "token_name", "client", "method", "path", "query", "status",
    "latency_ms", "scim_type", "detail", "user_agent",
)  # fmt: skip
ROWS_PER_INSERT = 50
"""Rows per multi-row INSERT: few statements per batch, and at most this many distinct
statement texts (one per remainder size) for the driver and Pony to keep."""


@lru_cache(maxsize=ROWS_PER_INSERT)
def _insert_sql(rows: int) -> str:
    # Bound parameters only ($p<row>_<column>), built from our own column names.
    names = ", ".join(f'"{column}"' for column in _COLUMNS)
    tuples = ", ".join(
        "(" + ", ".join(f"$p{row}_{col}" for col in range(len(_COLUMNS))) + ")"
        for row in range(rows)
    )
    return f'INSERT INTO "request_activity" ({names}) VALUES {tuples}'


def _values(store: Store, item: ActivityInput) -> tuple[Any, ...]:
    return (
        sql_timestamp(store, naive_utc(item.at)),
        item.token_id,
        _text(item.token_name, 256),
        _text(item.client, 128),
        _text(item.method, 16) or "?",
        _text(item.path, 1024) or "/",
        _text(item.query, 4096),
        int(item.status),
        float(item.latency_ms),
        _text(item.scim_type, 64),
        _text(item.detail, 2048),
        _text(item.user_agent, 256),
    )


@transaction
def record_activity(store: Store, items: Sequence[ActivityInput]) -> int:
    """Write a batch of request entries in one transaction; returns how many were written."""
    rows = [_values(store, item) for item in items]
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        params = {
            f"p{row}_{col}": value
            for row, values in enumerate(chunk)
            for col, value in enumerate(values)
        }
        store.db.execute(_insert_sql(len(chunk)), {}, params)
    return len(rows)


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
