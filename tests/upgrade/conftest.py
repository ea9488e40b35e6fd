"""A database as release 0.1.0 left it, on each backend: loaded from the checked-in fixture
(``v0_1_0_<backend>.sql``: the schema Pony made at ``v0.1.0`` and rows in every table), so
the test needs neither git nor the old code."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.support import create_pg_database, drop_pg_database

HERE = Path(__file__).parent


def fixture_facts(backend: str) -> dict[str, Any]:
    """The secrets issued while the fixture was made, and the ids it holds."""
    return dict(json.loads((HERE / f"v0_1_0_{backend}.json").read_text()))


def connect(url: str) -> Any:
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def execute(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = connect(url)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        conn.close()


def load(url: str, backend: str) -> None:
    script = (HERE / f"v0_1_0_{backend}.sql").read_text()
    conn = connect(url)
    try:
        if backend == "sqlite":
            conn.executescript(script)
        else:
            conn.cursor().execute(script)
    finally:
        conn.close()


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'trident-scim.db'}"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def v010_url(backend: str, empty_url: str) -> str:
    """A database exactly as trident-scim 0.1.0 made and filled it (no migration history)."""
    load(empty_url, backend)
    return empty_url


FUTURE = "9999_from_a_later_release"


def record_future_migration(url: str) -> None:
    """Make the database look upgraded by a later release (a migration this code lacks)."""
    execute(
        url,
        "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc) "
        f"VALUES ('f', '{FUTURE}', '2030-01-01 00:00:00')",
    )
