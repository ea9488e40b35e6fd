"""Is this database's schema the baseline's? Used once per database, to adopt a 0.1.0
database (tables made by Pony, no migration history) without re-creating anything.

The expected schema is not written down twice: the baseline migration's own statements are
run in a scratch place (an in-memory SQLite database; a PostgreSQL schema inside a
transaction that is rolled back) and that catalogue is compared with the live one. Every
table, column, index and constraint of the baseline must be there, defined the same way;
objects the baseline does not have are left alone.
"""

from __future__ import annotations

import sqlite3
import uuid

from store import dbapi
from store.errors import StoreError

Signature = set[tuple[str, ...]]


class BaselineMismatch(StoreError):
    """The tables are there but are not the 0.1.0 schema: nothing is adopted or changed."""


def verify_baseline(conn: dbapi.Connection, provider: str) -> None:
    """Raise BaselineMismatch unless the live schema holds every object of the baseline."""
    expected = expected_signature(conn, provider)
    live = signature(conn, provider)
    missing = sorted(expected - live)
    if missing:
        shown = "; ".join(" ".join(item[:2]) for item in missing[:3])
        raise BaselineMismatch(
            f"the database has trident-scim tables but not the 0.1.0 schema "
            f"({len(missing)} difference(s), first: {shown}); nothing was changed"
        )


def expected_signature(conn: dbapi.Connection, provider: str) -> Signature:
    from store.migrate import BASELINE, statements

    if provider == "sqlite":
        scratch = sqlite3.connect(":memory:")
        try:
            for statement in statements(BASELINE, "sqlite"):
                scratch.execute(statement)
            return signature(scratch, "sqlite")
        finally:
            scratch.close()
    scratch_schema = f"trident_baseline_{uuid.uuid4().hex[:12]}"
    cursor = conn.cursor()
    try:
        cursor.execute("BEGIN")
        cursor.execute(f'CREATE SCHEMA "{scratch_schema}"')
        cursor.execute(f'SET LOCAL search_path TO "{scratch_schema}"')
        for statement in statements(BASELINE, "postgresql"):
            cursor.execute(statement)
        return signature(conn, "postgresql")
    finally:
        cursor.execute("ROLLBACK")
        cursor.close()


def signature(conn: dbapi.Connection, provider: str) -> Signature:
    """Every table, column, index and constraint of the current schema, as comparable rows."""
    cursor = conn.cursor()
    try:
        if provider == "sqlite":
            cursor.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                           "WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '%yoyo%'")  # fmt: skip
            return {tuple(str(v) for v in row) for row in cursor.fetchall()}
        found: Signature = set()
        for query in _PG_QUERIES:
            cursor.execute(query)
            found |= {tuple(str(v) for v in row) for row in cursor.fetchall()}
        return {item for item in found if "yoyo" not in item[1]}
    finally:
        cursor.close()


_PG_QUERIES = (
    """SELECT 'column', table_name, column_name, data_type,
              coalesce(character_maximum_length, 0), is_nullable
         FROM information_schema.columns WHERE table_schema = current_schema()""",
    """SELECT 'index', tablename, indexname,
              replace(indexdef, ' ON ' || current_schema() || '.', ' ON ')
         FROM pg_indexes WHERE schemaname = current_schema()""",
    """SELECT 'constraint', t.relname, c.conname, pg_get_constraintdef(c.oid)
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()""",
)
