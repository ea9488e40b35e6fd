"""Test helpers shared by every suite: a settable clock and database fixtures' plumbing."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg2

from store.config import DatabaseSettings, Settings
from store.context import Store, open_store

PG_DSN = os.environ.get("TRIDENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
"""Server the PostgreSQL tests use; each test session creates and drops its own database."""


T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float, message: str | Callable[[], str] = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail with
    ``message`` (a string, or a function giving one, e.g. a log) after ``timeout`` seconds.

    The way to wait for another thread or process: on a loaded machine a fixed sleep is
    either too short (a flaky test) or too long (a slow one). The deadline only bounds a
    test that would otherwise hang; it asserts nothing about speed."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"not true within {timeout} s: {text or predicate!r}")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


class FakeClock:
    """A clock the test moves by hand (injected, as production injects the system clock)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kw: float) -> datetime:
        self.now = self.now + timedelta(seconds=seconds, **kw)
        return self.now


def aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC)


def _admin_conn() -> Any:
    conn = psycopg2.connect(PG_DSN + "/postgres", connect_timeout=5)
    conn.autocommit = True
    return conn


def create_pg_database() -> str:
    """Create a throwaway database and return its URL.

    Its commits do not wait for the WAL flush (``synchronous_commit = off``, the database's
    default for every connection to it): visibility, locking and atomicity are unchanged,
    only a crash of the PostgreSQL server itself could lose the last commits, and no test
    crashes the shared server (those that stop PostgreSQL run a private cluster). A flush
    costs ~5 ms a commit here, most of a PostgreSQL test's time."""
    name = f"trident_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = _admin_conn()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
        cur.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    conn.close()
    return f"{PG_DSN}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = _admin_conn()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def default_token(store: Store, name: str, actor: str = "operator:test", **kw: Any) -> Any:
    """A token of the ``default`` connection, which owns what an operator (or a test through
    the store's services) creates: the IdP that sees the data a test seeds directly."""
    from pony.orm import db_session

    from store.services.connections import default_connection
    from store.services.tokens import issue_token

    with db_session:
        default_connection(store, actor)
    return issue_token(store, name, actor, connection="default", **kw)


def settings_for(url: str, **sections: Any) -> Settings:
    base = Settings()
    return replace(base, database=DatabaseSettings(url=url), **sections)


def open_test_store(url: str) -> Store:
    return open_store(settings_for(url), create=True)


# Children before parents, so a plain DELETE works on SQLite with foreign keys on.
_TABLES = [
    "control_session",
    "control_role_assignment",
    "sso_group_role_mapping",
    "scim_membership",
    "scim_user_email",
    "scim_group",
    "scim_user",
    "control_role",
    "scim_token",
    "scim_connection",
    "rate_bucket",
    "audit_event",
    "request_activity",
    "worker_job_run",
    "worker_lease",
]


def wipe(store: Store) -> None:
    """Empty every table (keeps schema_meta) between tests."""
    from pony.orm import db_session

    # DELETE, not TRUNCATE: on tables this small it is ~70x faster on PostgreSQL.
    with db_session:
        for table in _TABLES:
            store.db.execute(f"DELETE FROM {table}")
