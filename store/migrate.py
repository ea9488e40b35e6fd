"""Schema migrations: yoyo-migrations owns the schema of both backends.

The migrations are the files of ``store/migrations/`` (see its README for how to add one).
yoyo records each applied migration in ``_yoyo_migration``; nothing else creates tables, and
Pony only maps them (``store.db``).

Processes that start together migrate once: the upgrade runs under a lock that dies with its
process (PostgreSQL: a session advisory lock on a side connection; SQLite: ``flock`` on a
``<database>.migrate-lock`` file beside the database). Under it, a ``yoyo_lock`` row left by a
killed process is stale by construction and is cleared before yoyo takes its own lock.

A 0.1.0 database (its tables made by Pony, no migration history) is adopted: its schema is
compared with the baseline migration's and, when it matches, the baseline is recorded as
applied without running. A database that records a migration this code does not know is newer
than the code: every command refuses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlparse
from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlBackend
from yoyo.backends.core.sqlite3 import SQLiteBackend
from yoyo.connections import DatabaseURI
from yoyo.migrations import MigrationList

from store import dbapi
from store.db import create_private_file, parse_database_url
from store.db_access import check_sqlite_access, open_failure
from store.errors import NoDatabase, StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQL_DIR = MIGRATIONS_DIR / "sql"
BASELINE = "0001_baseline"
MIGRATION_TABLE = "_yoyo_migration"
PG_LOCK_KEY = 727271
"""The advisory lock key every trident-scim process migrates under (unchanged since 0.1.0)."""


class SchemaError(StoreError):
    """The database's schema is not one this code can use (newer, not upgraded, or foreign)."""


@dataclass(frozen=True)
class SchemaStatus:
    applied: tuple[str, ...]  # in the order they were applied
    pending: tuple[str, ...]  # known to this code, not applied yet, in the order they will run
    unknown: tuple[str, ...]  # applied, but not known to this code: the database is newer
    adopt: bool = False  # a 0.1.0 database without history: the baseline is recorded, not run

    @property
    def current(self) -> str | None:
        return self.applied[-1] if self.applied else None


def known_migrations() -> list[str]:
    """The ids of the migrations this code ships, in the order they apply."""
    return [m.id for m in _migrations()]


def _migrations() -> MigrationList:
    return read_migrations(str(MIGRATIONS_DIR))


# ---- the step every migration file uses ---------------------------------------------------


def statements(name: str, provider: str) -> list[str]:
    """The statements of ``sql/<name>.<provider>.sql`` (provider: sqlite or postgresql)."""
    text = (SQL_DIR / f"{name}.{provider}.sql").read_text(encoding="utf-8")
    found = []
    for part in sqlparse.split(text):
        lines = part.strip().splitlines()
        while lines and lines[0].lstrip().startswith("--"):  # a comment before the statement
            lines.pop(0)
        statement = "\n".join(lines).strip().removesuffix(";").rstrip()
        if statement:
            found.append(statement)
    return found


def sql_step(name: str) -> Callable[[dbapi.Connection], None]:
    """A yoyo step running ``sql/<name>.sqlite.sql`` or ``sql/<name>.postgresql.sql``,
    whichever matches the connection it is given (inside the migration's transaction)."""

    def apply(connection: dbapi.Connection) -> None:
        provider = "sqlite" if isinstance(connection, sqlite3.Connection) else "postgresql"
        cursor = connection.cursor()
        try:
            for statement in statements(name, provider):
                cursor.execute(statement)
        finally:
            cursor.close()

    return apply


# ---- reading the state (no writes) ---------------------------------------------------------


def schema_status(
    url: str, busy_timeout_ms: int = 10_000, create: bool = False, file_mode: int = 0o600
) -> SchemaStatus:
    """Which migrations the database at ``url`` has, which are pending, which are unknown.

    Only with ``create`` is a missing SQLite file made (with ``file_mode``, before any
    connection could create it 0644); otherwise it is ``NoDatabase``. Connection failures are
    one-line store errors (unreachable, refused, access denied)."""
    args = parse_database_url(url)
    if args["provider"] == "sqlite":
        if create:
            create_private_file(args["filename"], file_mode)
        check_sqlite_access(args["filename"])
    try:
        with connection(args, busy_timeout_ms) as conn:
            return status_of(conn, args["provider"])
    except StoreError:
        raise
    except Exception as exc:  # driver errors: unreachable, refused, unreadable
        raise open_failure(args, exc) from None


def status_of(conn: dbapi.Connection, provider: str) -> SchemaStatus:
    known = known_migrations()
    applied = _applied_ids(conn, provider)
    adopt = not applied and has_table(conn, provider, "scim_user")
    return SchemaStatus(
        applied=tuple(applied),
        pending=tuple(m for m in known if m not in applied),
        unknown=tuple(m for m in applied if m not in known),
        adopt=adopt,
    )


def has_table(conn: dbapi.Connection, provider: str, table: str) -> bool:
    if provider == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = (
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s"
        )
    return bool(_rows(conn, sql, (table,))[0][0])


def _applied_ids(conn: dbapi.Connection, provider: str) -> list[str]:
    if not has_table(conn, provider, MIGRATION_TABLE):
        return []
    return [row[0] for row in _rows(conn, f"SELECT migration_id FROM {MIGRATION_TABLE} "
                                           "ORDER BY applied_at_utc, migration_id")]  # fmt: skip


def _rows(conn: dbapi.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def refuse_unusable(status: SchemaStatus) -> None:
    """Raise a one-line SchemaError unless this code can serve a database in ``status``."""
    if status.unknown:
        raise SchemaError(
            f"the database schema is newer than this trident-scim {_code_version()} "
            f"(it has migration {status.unknown[-1]}, unknown here): run the release that "
            "upgraded it, or restore the backup taken before that upgrade"
        )
    if status.pending:
        raise SchemaError(
            f"the database schema is not up to date ({len(status.pending)} pending "
            "migration(s)): run 'trident-scim db upgrade' (take a 'db backup' first)"
        )


def check_current(url: str, busy_timeout_ms: int = 10_000) -> None:
    """Refuse a database this code cannot use as it is: no schema yet, newer than the code,
    or not upgraded."""
    status = schema_status(url, busy_timeout_ms)
    if not status.applied and not status.adopt:
        raise NoDatabase("the database has no schema yet; run `trident-scim db init`")
    refuse_unusable(status)


def _code_version() -> str:
    from store.version import VERSION

    return VERSION


# ---- upgrading ------------------------------------------------------------------------------


def upgrade(url: str, busy_timeout_ms: int = 10_000, file_mode: int = 0o600) -> list[str]:
    """Apply every pending migration (adopting a 0.1.0 database first); returns their ids.
    Safe to run from several processes at once; a no-op when nothing is pending."""
    args = parse_database_url(url)
    status = schema_status(url, busy_timeout_ms, create=True, file_mode=file_mode)
    if status.unknown or not status.pending:
        refuse_unusable(status)
        return []
    with _migration_lock(args, busy_timeout_ms):
        backend = _backend(args, busy_timeout_ms)
        try:
            return _upgrade_locked(backend, args["provider"])
        finally:
            backend.connection.close()


def _upgrade_locked(backend: Any, provider: str) -> list[str]:
    status = status_of(backend.connection, provider)  # again: another process may have done it
    if status.unknown:
        refuse_unusable(status)
    backend.create_lock_table()
    backend.break_lock()  # only a killed process can have left a row while we hold the lock
    migrations = _migrations()
    done = []
    with backend.lock():
        if status.adopt:
            from store.schema_check import verify_baseline

            verify_baseline(backend.connection, provider)
            backend.mark_migrations(MigrationList([m for m in migrations if m.id == BASELINE]))
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        done = [m.id for m in pending]
    return ([BASELINE] if status.adopt else []) + done


# ---- connections and locks -----------------------------------------------------------------


@contextlib.contextmanager
def connection(args: dict[str, Any], busy_timeout_ms: int) -> Iterator[dbapi.Connection]:
    """A plain DB-API connection (autocommit) for ``parse_database_url`` arguments."""
    if args["provider"] == "sqlite":
        conn: Any = sqlite3.connect(
            args["filename"], timeout=busy_timeout_ms / 1000, isolation_level=None
        )
    else:
        import psycopg2

        conn = psycopg2.connect(**_pg_kwargs(args))
        conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def _pg_kwargs(args: dict[str, Any]) -> dict[str, Any]:
    names = ("host", "port", "user", "database", "password")
    kwargs: dict[str, Any] = {name: args[name] for name in names if name in args}
    kwargs["connect_timeout"] = 10
    return kwargs


@contextlib.contextmanager
def _migration_lock(args: dict[str, Any], busy_timeout_ms: int) -> Iterator[None]:
    """Held by one process at a time; released by the OS if its holder dies."""
    if args["provider"] == "sqlite":
        path = Path(f"{args['filename']}.migrate-lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
        return
    with connection(args, busy_timeout_ms) as conn:
        _rows(conn, "SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))
        try:
            yield
        finally:
            _rows(conn, "SELECT pg_advisory_unlock(%s)", (PG_LOCK_KEY,))


class _SQLite(SQLiteBackend):  # type: ignore[misc]
    """yoyo's SQLite backend opening the file by name (any path) with the busy timeout."""

    def connect(self, dburi: DatabaseURI) -> sqlite3.Connection:
        conn = sqlite3.connect(dburi.database, timeout=float(dburi.args["timeout"]),
                               detect_types=sqlite3.PARSE_DECLTYPES)  # fmt: skip
        conn.isolation_level = None  # yoyo issues BEGIN and COMMIT itself
        return conn


def _backend(args: dict[str, Any], busy_timeout_ms: int) -> Any:
    if args["provider"] == "sqlite":
        uri = DatabaseURI("sqlite", None, None, None, None, args["filename"],
                          {"timeout": busy_timeout_ms / 1000})  # fmt: skip
        return _SQLite(uri, MIGRATION_TABLE)
    kwargs = _pg_kwargs(args)
    uri = DatabaseURI("postgresql", kwargs.get("user"), kwargs.get("password"),
                      kwargs.get("host"), kwargs.get("port"), kwargs["database"],
                      {"connect_timeout": 10})  # fmt: skip
    return PostgresqlBackend(uri, MIGRATION_TABLE)
