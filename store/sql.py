"""The store's one door to Pony's internals: raw SQL, its parsed-text cache, the per-thread
statistics, the db_session marker and the PostgreSQL pool.

Pony is the ORM; its entity API is public and used across the store. What the store needs
beyond it (running a raw statement without a new row class per call, bounding the cache of
parsed statement texts, counting statements, a pool that does not ``DISCARD ALL``) reaches
into names Pony does not document. They are used here and nowhere else, on the Pony release
pinned in pyproject.toml (``PONY_VERSION``); ``tests/store/test_sql.py`` checks each of them
on both backends, so an upgrade that moves one fails there, naming it.

Statement texts use Pony's ``$name`` placeholders, every value bound from ``params``. Pony
evaluates the text after ``$`` as a Python expression, so a text must never hold a value a
client sent: only fixed keywords, whitelisted names and placeholders.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pony.orm import Database
from pony.orm import core as _core
from pony.orm.dbproviders.postgres import PGPool, PGProvider

from store import dbapi

PONY_VERSION = "0.7.20"
"""The Pony release these internals were checked against (pinned in pyproject.toml)."""

Row = tuple[Any, ...]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Executed:
    """What a statement run in the write transaction did: rows changed, rows returned."""

    rowcount: int
    rows: list[Row]


def _cursor(db: Database, text: str, params: Params | None, write: bool) -> Any:
    # Database._exec_raw_sql(sql, globals, locals, frame_depth, start_transaction): with
    # globals given, ``$name`` is evaluated in ``locals`` alone (no caller frame is read).
    return db._exec_raw_sql(text, {}, dict(params or {}), 0, start_transaction=write)


def select_rows(db: Database, text: str, params: Params | None = None) -> list[Row]:
    """The rows of a read, as plain tuples, in this thread's db_session (no write lock)."""
    return [tuple(row) for row in _cursor(db, text, params, write=False).fetchall()]


def execute(db: Database, text: str, params: Params | None = None) -> Executed:
    """Run a statement in the db_session's write transaction (SQLite: ``BEGIN IMMEDIATE``
    first, so a read that decides a write is taken under the writer lock); the rows it
    returns (a SELECT, a RETURNING) come back too."""
    cursor = _cursor(db, text, params, write=True)
    rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    return Executed(int(cursor.rowcount), rows)


def execute_unflushed(db: Database, text: str, params: Params | None = None) -> Executed:
    """``execute`` without writing the db_session's pending entity changes first (Pony writes
    them before any statement): for a row that refers to none of them, such as an audit
    event, so that the changes still pending reach the database together, in one UPDATE per
    row. ``SessionCache.flush_disabled`` is Pony's own guard for the same purpose."""
    with db._get_cache().flush_disabled():
        return execute(db, text, params)


def in_write_transaction(db: Database) -> bool:
    """Whether this db_session's write transaction has begun (an ``execute`` or a query
    ``for_update`` ran: on SQLite ``BEGIN IMMEDIATE`` is done and the writer lock held)."""
    cache = db._get_cache()
    return bool(cache.immediate and cache.in_transaction)


def connection(db: Database) -> dbapi.Connection:
    """The DB-API connection of this thread's db_session, its transaction begun (for the
    driver's own batch calls: ``executemany``, psycopg2's ``execute_values``)."""
    connection: dbapi.Connection = db.get_connection()
    return connection


def in_db_session() -> bool:
    """Whether this thread is inside a Pony db_session."""
    return _core.local.db_session is not None


# ---- texts that a client's request shapes: kept parsed only among the most recent --------

MAX_CACHED_TEXTS = 64
"""Request-built statement texts kept parsed in Pony's cache. An IdP repeats a handful of
shapes (``userName eq``, ``externalId eq``, ``displayName eq``), which then stay parsed; a
client that invents new shapes only ever evicts the oldest."""
_transient: OrderedDict[tuple[str, str], None] = OrderedDict()
_transient_lock = threading.Lock()


def _cache_key(db: Database, text: str) -> tuple[str, str]:
    """The key Pony's ``adapt_sql`` files ``text`` under: pyformat/format drivers
    (psycopg2) have each ``%`` doubled first."""
    paramstyle = str(db.provider.paramstyle)
    if paramstyle in ("format", "pyformat"):
        text = text.replace("%", "%%")
    return text, paramstyle


def adapted(db: Database, text: str) -> str | None:
    """The driver's text Pony made of ``text`` (placeholders in the driver's style), or
    None when it is not in the cache."""
    entry = _core.adapted_sql_cache.get(_cache_key(db, text))
    return None if entry is None else str(entry[0])


def select_rows_transient(db: Database, text: str, params: Params | None = None) -> list[Row]:
    """``select_rows`` for a text a request built (a filter): this thread's statistics entry for
    it goes at once, and only the ``MAX_CACHED_TEXTS`` most recent such texts stay parsed."""
    try:
        return select_rows(db, text, params)
    finally:
        _forget_later(db, text)


def _forget_later(db: Database, text: str) -> None:
    driver_text = adapted(db, text)
    if driver_text is not None:
        db.local_stats.pop(driver_text, None)
    key = _cache_key(db, text)
    with _transient_lock:
        _transient[key] = None
        _transient.move_to_end(key)
        evicted = _transient.popitem(last=False)[0] if len(_transient) > MAX_CACHED_TEXTS else None
    if evicted is not None:
        _core.adapted_sql_cache.pop(evicted, None)


def parsed_texts() -> int:
    """How many statement texts Pony keeps parsed (all databases of this process)."""
    return len(_core.adapted_sql_cache)


# ---- per-thread statistics ---------------------------------------------------------------


def statement_counts(db: Database) -> dict[str, int]:
    """Statements this thread sent since the last ``reset_stats``, by driver text."""
    return {str(text): int(stat.db_count) for text, stat in db.local_stats.items() if text}


def statements_sent(db: Database) -> int:
    """How many statements this thread sent since the last ``reset_stats``."""
    total = db.local_stats.get(None)
    return int(total.db_count) if total is not None else 0


def reset_stats(db: Database) -> None:
    """Forget this thread's statistics (Pony starts a fresh total on the next statement)."""
    db.local_stats.clear()


# ---- PostgreSQL connections ----------------------------------------------------------------


class PostgresPool(PGPool):  # type: ignore[misc]
    """Pony's pool ends every db_session with ``DISCARD ALL``: a round trip and server work
    on every transaction, to reset session state this service never sets (it only uses
    ``SET LOCAL`` and transaction-scoped advisory locks, which end with the transaction).
    Releasing here only ends the transaction; the connection stays this thread's."""

    def release(self, con: Any) -> None:
        assert con is self.con
        try:
            con.rollback()  # no round trip when no transaction is open
        except Exception:
            self.drop(con)
            raise


class PostgresProvider(PGProvider):  # type: ignore[misc]
    """Pony's PostgreSQL provider with ``PostgresPool`` (``db.bind(provider=...)``)."""

    def get_pool(self, *args: Any, **kwargs: Any) -> PostgresPool:
        return PostgresPool(self.dbapi_module, *args, **kwargs)
