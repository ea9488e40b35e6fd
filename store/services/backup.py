"""Online backup and restore of the database, for ``trident-scim db backup`` / ``db restore``.

SQLite: the copy is taken with SQLite's online backup API on a separate connection, in one
step, inside one read transaction. In WAL mode that reader sees one consistent snapshot and
blocks no writer, so the service keeps running while the backup is made. The copy is written
beside its destination, switched to a single self-contained file (no ``-wal``), checked with
``PRAGMA integrity_check`` and only then renamed into place (mode 0600: it holds user data).

PostgreSQL: ``pg_dump`` (custom format) and ``pg_restore``, which already take a consistent
snapshot; when they are not installed the operator is told to use them directly.

This module never logs or prints database passwords (they go to ``pg_dump`` through its
environment, not its command line). It raises only ``store.errors``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.config import Settings
from store.db import create_private_file, parse_database_url
from store.errors import InvalidInput, StoreError, Unavailable
from store.migrate import connection, has_table, status_of
from store.services.lease import LIVE_PROCESSES, PROCESS_LEASE_PREFIX

PG_TIMEOUT_SECONDS = 3600
"""Longest a pg_dump or pg_restore may run before it is abandoned."""
_REQUIRED_TABLES = ("schema_meta", "scim_user", "scim_group", "scim_token")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    provider: str  # "sqlite" or "postgres"
    size_bytes: int
    users: int | None = None  # live (not deleted) users in the copy, when cheap to count
    groups: int | None = None


def backup_database(settings: Settings, destination: str | Path) -> BackupResult:
    """Write a consistent copy of the configured database to ``destination`` (a new file)."""
    target = _new_file_path(destination)
    args = parse_database_url(settings.database.url)
    if args["provider"] == "sqlite":
        return _sqlite_backup(Path(args["filename"]), target, settings.database.busy_timeout_ms)
    return _pg_dump(args, target)


class DatabaseInUse(StoreError):
    """``serve`` or ``worker`` processes hold the database: a restore would pull the content
    from under their requests and jobs."""


def restore_database(settings: Settings, source: str | Path, force: bool = False) -> BackupResult:
    """Replace the configured database's content with a backup made by ``backup_database``.

    Refused while a ``serve`` or ``worker`` process holds the database (an unexpired
    ``process:`` lease: each such process keeps one while it runs) unless ``force``. The
    backup is verified before anything of the live database is touched. The leases that
    come with the backup belonged to processes of the past and are dropped."""
    origin = Path(source)
    if not origin.is_file():
        raise InvalidInput(f"backup file not found: {origin}", "path")
    args = parse_database_url(settings.database.url)
    busy_ms = settings.database.busy_timeout_ms
    holders = live_holders(args, busy_ms)
    if holders and not force:
        raise DatabaseInUse(
            f"the database is in use by {len(holders)} running process(es) "
            f"({'; '.join(holders[:3])}): stop every serve and worker process, then run "
            f"again (a killed process frees its hold within "
            f"{settings.worker.lease_ttl_seconds} s), or pass --force"
        )
    if args["provider"] == "sqlite":
        target = Path(args["filename"])
        result = _sqlite_restore(origin, target, busy_ms, settings.database.file_mode_bits)
    else:
        result = _pg_restore(args, origin)
    with connection(args, busy_ms) as conn:
        conn.cursor().execute("DELETE FROM worker_lease")
    return result


def live_holders(args: dict[str, Any], busy_timeout_ms: int) -> list[str]:
    """The running serve and worker processes of the database, from their unexpired process
    leases (none when the database has no lease table yet)."""
    if args["provider"] == "sqlite" and not Path(args["filename"]).exists():
        return []  # nothing serves a database that is not there (and connecting would make it)
    now = time.time()
    with connection(args, busy_timeout_ms) as conn:
        provider = "sqlite" if args["provider"] == "sqlite" else "postgresql"
        if not has_table(conn, provider, "worker_lease"):
            return []
        cursor = conn.cursor()
        query = LIVE_PROCESSES.format(p="?" if provider == "sqlite" else "%s")
        cursor.execute(query, (f"{PROCESS_LEASE_PREFIX}%", now))
        return sorted({str(holder) for _, holder in cursor.fetchall()})


# ---- SQLite --------------------------------------------------------------------------------


def _new_file_path(destination: str | Path) -> Path:
    target = Path(destination).absolute()
    if target.exists():
        raise InvalidInput(f"{target} already exists; choose a new file name", "path")
    if not target.parent.is_dir():
        raise InvalidInput(f"directory {target.parent} does not exist", "path")
    return target


@contextlib.contextmanager
def _connect(path: Path, busy_timeout_ms: int) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _sqlite_failure(exc: sqlite3.Error) -> Unavailable:
    return Unavailable(f"the SQLite database could not be read: {exc}")


def _sqlite_backup(source: Path, target: Path, busy_timeout_ms: int) -> BackupResult:
    if not source.is_file():
        raise InvalidInput(f"the database file {source} does not exist", "database")
    partial = target.with_name(f".{target.name}.partial")
    _create_private(partial)
    try:
        with _connect(source, busy_timeout_ms) as src, _connect(partial, busy_timeout_ms) as dst:
            src.backup(dst, pages=-1)  # one step = one read transaction = one snapshot
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
            users, groups = _verify_sqlite(dst, partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise _sqlite_failure(exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupResult(target, "sqlite", target.stat().st_size, users, groups)


def _create_private(path: Path, mode: int = 0o600) -> None:
    """An empty file only the service user (or, with ``mode`` 0660, the operators' group)
    can read, whatever the umask (an empty file is a valid database)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a leftover of an interrupted backup
    create_private_file(str(path), mode)


def _verify_sqlite(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """Integrity check plus "is this one of ours": the tables exist, the schema is known."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise InvalidInput(f"{path} fails the integrity check: {'; '.join(problems[:5])}", "path")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [t for t in _REQUIRED_TABLES if t not in tables]
    if missing:
        raise InvalidInput(f"{path} is not a trident-scim database (no {missing[0]})", "path")
    unknown = status_of(conn, "sqlite").unknown
    if unknown:
        raise InvalidInput(f"{path} is newer than this release (migration {unknown[-1]})", "path")
    users = conn.execute("SELECT count(*) FROM scim_user WHERE deleted_at IS NULL").fetchone()
    groups = conn.execute("SELECT count(*) FROM scim_group").fetchone()
    return int(users[0]), int(groups[0])


def _sqlite_restore(
    source: Path, target: Path, busy_timeout_ms: int, file_mode: int = 0o600
) -> BackupResult:
    try:
        with _connect(source, busy_timeout_ms) as src:
            users, groups = _verify_sqlite(src, source)
            if not target.exists():
                _create_private(target, file_mode)
            with _connect(target, busy_timeout_ms) as dst:
                # The backup API takes the target's write lock (waiting up to the busy
                # timeout) and swaps every page at once: readers see old or new, never a mix.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode = WAL")
                _verify_sqlite(dst, target)
    except sqlite3.Error as exc:
        raise _sqlite_failure(exc) from None
    return BackupResult(source, "sqlite", source.stat().st_size, users, groups)


# ---- PostgreSQL ----------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Unavailable(
            f"{name} is not installed on this machine. Back up and restore PostgreSQL with "
            f"the PostgreSQL client tools: pg_dump -Fc -f FILE DBNAME, then "
            f"pg_restore --clean --if-exists -d DBNAME FILE"
        )
    return found


def _pg_connection_args(args: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Command-line options and environment for the PostgreSQL tools (the password goes in
    the environment so it never shows in a process listing)."""
    options = ["-h", str(args["host"]), "-p", str(args["port"]), "-U", str(args["user"])]
    env = dict(os.environ)
    if "password" in args:
        env["PGPASSWORD"] = str(args["password"])
    return options, env


def _run_pg(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=PG_TIMEOUT_SECONDS, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{what} did not finish within {PG_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(f"{what} failed: {' '.join(detail[-3:]) or done.returncode}")


def _pg_dump(args: dict[str, Any], target: Path) -> BackupResult:
    tool = _pg_tool("pg_dump")
    options, env = _pg_connection_args(args)
    partial = target.with_name(f".{target.name}.partial")
    _create_private(partial)
    try:
        command = [tool, *options, "--format=custom", "--no-owner", "-f", str(partial),
                   "-d", str(args["database"])]  # fmt: skip
        _run_pg(command, env, "pg_dump")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupResult(target, "postgres", target.stat().st_size)


def _pg_restore(args: dict[str, Any], source: Path) -> BackupResult:
    tool = _pg_tool("pg_restore")
    options, env = _pg_connection_args(args)
    _run_pg([tool, "--list", str(source)], env, "reading the backup")  # verify it first
    command = [tool, *options, "--clean", "--if-exists", "--no-owner", "--single-transaction",
               "-d", str(args["database"]), str(source)]  # fmt: skip
    _run_pg(command, env, "pg_restore")
    return BackupResult(source, "postgres", source.stat().st_size)
