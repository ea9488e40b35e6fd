"""The request/activity log: what each IdP sent, written in batches, pruned by age and size.

The API keeps one ``ActivityInput`` per request in memory and hands a batch here about once a
second, so logging costs one transaction per batch instead of a write per request. Refused
requests (401, 429) are folded into one row per client address, status, token and minute
(``store.domain.request_log``): a flood adds to that row's ``hits``. Text is cut to the
column sizes (a hostile request must not fail the batch) and kept as received otherwise: the
edges make it safe for a terminal when they show it. Pruning touches only this log: audit
history is never pruned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any

from pony.orm import select

from store.context import Store, naive_utc
from store.domain import limits, request_log
from store.domain.clients import storable_text
from store.errors import NotFound
from store.queries.activity import ActivityFilter, recent_activity
from store.queries.filtering import fetch_rows, sql_timestamp
from store.records import ActivityInput
from store.services.connections import get_connection
from store.sql import execute
from store.tx import transaction

PRUNE_CHUNK = 5000
"""Rows deleted per transaction, so a large prune never holds the write lock for long."""


_COLUMNS = (
    "at", "token_id", "token_name", "client", "method", "path", "query", "status",
    "latency_ms", "scim_type", "detail", "user_agent", "hits", "connection",
)  # fmt: skip
ROWS_PER_INSERT = 50
"""Rows per multi-row INSERT: few statements per batch, and at most this many distinct
statement texts (one per remainder size) for the driver and Pony to keep."""


_POSTGRES_TYPES = (
    "timestamp", "int4", "text", "text", "text", "text", "text", "int4",
    "float8", "text", "text", "text", "int4", "text",
)  # fmt: skip
ROWS_PER_JSON = 1000
"""Rows per PostgreSQL INSERT, sent as one JSON parameter."""
# PostgreSQL: the rows as one bound JSON array of arrays, in column order. psycopg2 quotes
# every bound value in this process, which for 14 values a row cost more than the rest of
# the request; one JSON text is quoted once. Bound parameters only; the text is our names.
_INSERT_JSON_POSTGRES = (
    'INSERT INTO "request_activity" ({names}) SELECT {values} '
    "FROM json_array_elements($rows::json) WITH ORDINALITY AS e(r, n) ORDER BY n"
).format(
    names=", ".join(f'"{column}"' for column in _COLUMNS),
    values=", ".join(f"(e.r->>{col})::{kind}" for col, kind in enumerate(_POSTGRES_TYPES)),
)


def _json_rows(rows: Sequence[tuple[Any, ...]]) -> str:
    """The rows as ``_INSERT_JSON_POSTGRES`` reads them (the time as ISO text)."""
    return json.dumps(
        [(naive_utc(row[0]).isoformat(" ", timespec="microseconds"), *row[1:]) for row in rows],
        ensure_ascii=False,
        separators=(",", ":"),
    )


@lru_cache(maxsize=ROWS_PER_INSERT)
def _insert_sql(rows: int) -> str:
    # Bound parameters only ($p<row>_<column>), built from our own column names.
    names = ", ".join(f'"{column}"' for column in _COLUMNS)
    tuples = ", ".join(
        "(" + ", ".join(f"$p{row}_{col}" for col in range(len(_COLUMNS))) + ")"
        for row in range(rows)
    )
    return f'INSERT INTO "request_activity" ({names}) VALUES {tuples}'


@lru_cache(maxsize=ROWS_PER_INSERT)
def _param_names(rows: int) -> tuple[str, ...]:
    """The placeholder names of ``_insert_sql(rows)``, row by row, in column order."""
    return tuple(f"p{row}_{col}" for row in range(rows) for col in range(len(_COLUMNS)))


def _values(store: Store, item: ActivityInput) -> tuple[Any, ...]:
    return (
        sql_timestamp(store, naive_utc(item.at)),
        item.token_id,
        storable_text(item.token_name, limits.TOKEN_NAME),
        storable_text(item.client, limits.CLIENT),
        storable_text(item.method, limits.REQUEST_METHOD) or "?",
        storable_text(item.path, limits.REQUEST_PATH) or "/",
        storable_text(item.query, limits.REQUEST_QUERY),
        int(item.status),
        float(item.latency_ms),
        storable_text(item.scim_type, limits.SCIM_TYPE),
        storable_text(item.detail, limits.DETAIL),
        storable_text(item.user_agent, limits.USER_AGENT),
        max(1, int(item.hits)),
        storable_text(item.connection, limits.TOKEN_NAME) or None,
    )


@transaction
def record_activity(store: Store, items: Sequence[ActivityInput]) -> int:
    """Write a batch of request entries in one transaction; returns how many requests it
    recorded (refusals folded into their minute's row count one each)."""
    singles, groups = request_log.split(list(items))
    rows = [_values(store, item) for item in singles]
    for (minute, *_rest), (item, hits) in groups.items():
        folded = replace(item, hits=hits)
        if not _add_hits(store, folded, minute):
            rows.append(_values(store, folded))
    if store.provider == "postgres":
        for start in range(0, len(rows), ROWS_PER_JSON):
            chunk = rows[start : start + ROWS_PER_JSON]
            execute(store.db, _INSERT_JSON_POSTGRES, {"rows": _json_rows(chunk)})
        return sum(max(1, item.hits) for item in items)
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        params = dict(zip(_param_names(len(chunk)), chain.from_iterable(chunk), strict=True))
        execute(store.db, _insert_sql(len(chunk)), params)
    return sum(max(1, item.hits) for item in items)


# Bound parameters only. The minute's row of this address, status and token, if one exists
# (found through the index on "at"); its time moves to the newest request it stands for.
_ADD_HITS = (
    'UPDATE "request_activity" SET "hits" = "hits" + $hits, "latency_ms" = $latency, '
    '"at" = CASE WHEN "at" < $at THEN $at ELSE "at" END '
    'WHERE "at" >= $minute AND "at" < $next_minute AND "client" = $client '
    'AND "status" = $status AND COALESCE("token_id", 0) = $token AND '
)
# The same kind of presented token (request_log.label_kind): any unknown one, or this label.
_SAME_UNKNOWN = "COALESCE(\"token_name\", '') LIKE 'unknown %'"
_SAME_LABEL = "COALESCE(\"token_name\", '') = $label"


def _add_hits(store: Store, item: ActivityInput, minute: datetime) -> bool:
    """Add the item's hits to the existing row of its minute; False when there is none."""
    params = {
        "hits": item.hits,
        "latency": float(item.latency_ms),
        "at": sql_timestamp(store, naive_utc(item.at)),
        "minute": sql_timestamp(store, minute),
        "next_minute": sql_timestamp(store, minute + timedelta(minutes=1)),
        "client": storable_text(item.client, limits.CLIENT),
        "status": int(item.status),
        "token": item.token_id or 0,
        "label": item.token_name or "",
    }
    unknown = request_log.label_kind(item.token_name) == request_log.UNKNOWN
    statement = _ADD_HITS + (_SAME_UNKNOWN if unknown else _SAME_LABEL)
    if unknown:
        del params["label"]
    return bool(execute(store.db, statement, params).rowcount)


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


def prune_activity(
    store: Store, older_than: datetime, max_rows: int = 0, max_chunks: int = 1000
) -> int:
    """Delete log entries recorded before ``older_than``, then (``max_rows`` > 0) the oldest
    beyond the newest ``max_rows``, in chunks, each its own transaction; returns how many
    rows were deleted. Audit events are never touched."""
    cutoff = naive_utc(older_than)
    deleted = _in_chunks(lambda: _prune_chunk(store, cutoff), max_chunks)
    highest = _excess_id(store, max_rows) if max_rows > 0 else None
    if highest is not None:
        deleted += _in_chunks(lambda: _prune_ids_chunk(store, highest), max_chunks)
    return deleted


def _in_chunks(prune: Callable[[], int], max_chunks: int) -> int:
    deleted = 0
    for _ in range(max_chunks):
        removed = prune()
        deleted += removed
        if removed < PRUNE_CHUNK:
            break
    return deleted


_EXCESS = 'SELECT "id" FROM "request_activity" ORDER BY "id" DESC LIMIT 1 OFFSET $keep'


@transaction
def _excess_id(store: Store, max_rows: int) -> int | None:
    """The newest id beyond the newest ``max_rows`` rows (ids grow with time), if any."""
    rows = fetch_rows(store, _EXCESS, {"keep": max_rows})
    return int(rows[0][0]) if rows else None


@transaction
def _prune_ids_chunk(store: Store, highest: int) -> int:
    Activity = store.db.Activity
    ids = select(a.id for a in Activity if a.id <= highest).order_by(1)[:PRUNE_CHUNK]
    if not ids:
        return 0
    top = max(ids)
    return int(Activity.select(lambda a: a.id <= top).delete(bulk=True))


def logged_connection(store: Store, name: str) -> str:
    """The connection name the request log holds for ``name`` (a valid connection name): a
    connection's own spelling, or, for a connection renamed or removed since, ``name`` as
    typed while some request is still logged under it. NotFound when neither."""
    try:
        return get_connection(store, name).name
    except NotFound:
        if recent_activity(store, 1, wanted=ActivityFilter(connection=name)):
            return name
        raise
