"""Can the database serve this process's requests? For ``/healthz`` and operators.

Reachable is not enough: with a full disk or a read-only database every read succeeds while
every change fails, so the check also proves that a write would be accepted. A no-op UPDATE
of one row, rolled back, is refused at once by a read-only database (SQLite ``query_only`` or
a read-only file, PostgreSQL ``default_transaction_read_only``); SQLite first fails for a full
disk only at commit, so for it the free space of the file's filesystem is read; and a write
that failed for either cause since the last successful write counts too.
Raises ``Unavailable`` whose ``cause`` names the reason; changes nothing.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pony.orm import db_session

from store import dbapi
from store.context import Store
from store.db import parse_database_url
from store.errors import Unavailable
from store.sql import connection, execute
from store.tx import fault_cause, read, recent_write_fault, report_fault

MIN_FREE_BYTES = 1 << 20
"""Less free space than this on a SQLite file's filesystem is reported as "disk full": a
transaction of a few users already needs a few hundred KiB of WAL."""
# Matches no row: a read-only database refuses it all the same, and it changes nothing.
_PROBE = 'UPDATE "rate_bucket" SET "tat" = "tat" WHERE "key" = \'\''


@read
def _reachable(store: Store) -> str:
    execute(store.db, "SELECT 1")
    return store.provider


def _writable(store: Store) -> None:
    """On the raw connection, outside Pony's transaction handling (which would first take
    SQLite's write lock, waiting behind any bulk load). SQLite does not wait for the lock:
    another writer holding it proves the database takes writes."""
    try:
        with db_session:
            _probe_write(store, connection(store.db))
    except Exception as exc:  # the driver's refusal, however Pony wrapped it
        if fault_cause(exc) != "locked":
            raise Unavailable("the database refuses writes", report_fault(exc)) from None


def _probe_write(store: Store, connection: dbapi.Connection) -> None:
    sqlite = store.provider == "sqlite"
    cursor = connection.cursor()
    if sqlite:
        cursor.execute("PRAGMA busy_timeout = 0")
    try:
        cursor.execute(_PROBE)
    finally:
        connection.rollback()
        if sqlite:
            timeout = int(store.settings.database.busy_timeout_ms)
            cursor.execute(f"PRAGMA busy_timeout = {timeout}")


def _free_bytes(store: Store) -> int | None:
    args = parse_database_url(store.settings.database.url)
    if args["provider"] != "sqlite":
        return None
    stats = os.statvfs(Path(args["filename"]).parent)
    return stats.f_bavail * stats.f_frsize


def check_database(store: Store) -> str:
    """Return the provider name ("sqlite" or "postgres") when the database answers and would
    accept a write; raise ``Unavailable`` with the cause otherwise."""
    provider = _reachable(store)
    _writable(store)
    free = _free_bytes(store) if provider == "sqlite" else None
    if free is not None and free < MIN_FREE_BYTES:
        full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise Unavailable("the database's disk is full", report_fault(full))
    fault = recent_write_fault()
    if fault:
        raise Unavailable(f"the last write failed: {fault}", fault)
    return provider
