"""A 0.1.0 database upgraded to the newest schema has exactly the schema of a database made
new by the same migrations, on both backends: the same tables, and in each the same columns
(type, nullability, default), primary key, unique constraints, indexes, foreign keys and
checks. The catalogue is read from the database itself (SQLite's pragmas, PostgreSQL's
``pg_catalog``), not from the migrations' text, so a migration that behaves differently on
data it finds (a rebuilt table, a back-fill) cannot leave an upgraded database apart from a
new one unseen.

Generic, like ``test_upgrade``: every migration added to ``store/migrations/`` is checked
here with no change to this file."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.migrate import BASELINE, statements, upgrade
from tests.support import create_pg_database, drop_pg_database
from tests.upgrade.conftest import connect

Catalogue = dict[str, dict[str, Any]]


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database made at the newest schema by the migrations alone (no 0.1.0 history)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        upgrade(url)
        yield url
        return
    url = create_pg_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_pg_database(url)


def test_an_upgraded_0_1_0_database_has_the_schema_of_a_new_one(
    backend: str, v010_url: str, fresh_url: str
) -> None:
    upgrade(v010_url)
    upgraded, fresh = catalogue_of(v010_url, backend), catalogue_of(fresh_url, backend)
    membership = fresh["scim_membership"]  # the reading found what there is to compare
    assert membership["column"] and membership["primary key"] and membership["foreign keys"]
    assert differences(upgraded, fresh) == []


# A change of each kind the comparison must see, made to the baseline's own statements:
# (what it changes, the text in the SQLite baseline and its replacement, the same for
# PostgreSQL).
_CHANGES = {
    "type": (
        '"tat" REAL NOT NULL',
        '"tat" INTEGER NOT NULL',
        '"tat" DOUBLE PRECISION NOT NULL',
        '"tat" INTEGER NOT NULL',
    ),
    "nullability": ('"prefix" VARCHAR(64) NOT NULL,', '"prefix" VARCHAR(64),') * 2,
    "default": ('"prefix" VARCHAR(64) NOT NULL,', "\"prefix\" VARCHAR(64) NOT NULL DEFAULT 'x',")
    * 2,
    "primary key": (
        '"key" VARCHAR(64) NOT NULL PRIMARY KEY,',
        '"key" VARCHAR(64) NOT NULL,',
        '"key" VARCHAR(64) PRIMARY KEY,',
        '"key" VARCHAR(64) NOT NULL,',
    ),
    "unique": ('"name_key" VARCHAR(256) UNIQUE NOT NULL,', '"name_key" VARCHAR(256) NOT NULL,') * 2,
    "index": (
        '"idx_audit_event__at" ON "audit_event" ("at")',
        '"idx_audit_event__at" ON "audit_event" ("at", "id")',
    )
    * 2,
    "foreign key": (
        '"role" VARCHAR(128) NOT NULL REFERENCES "control_role" ("name") ON DELETE CASCADE',
        '"role" VARCHAR(128) NOT NULL REFERENCES "control_role" ("name")',
        'REFERENCES "control_role" ("name") ON DELETE CASCADE',
        'REFERENCES "control_role" ("name")',
    ),
    "check": (
        '"tat" REAL NOT NULL',
        '"tat" REAL NOT NULL CHECK ("tat" >= 0)',
        '"tat" DOUBLE PRECISION NOT NULL',
        '"tat" DOUBLE PRECISION NOT NULL CHECK ("tat" >= 0)',
    ),
}


@pytest.mark.parametrize("kind", list(_CHANGES))
def test_the_comparison_sees_a_difference_of_each_kind(
    backend: str, fresh_url: str, kind: str
) -> None:
    """The comparison above can fail: the baseline with one change of ``kind`` is told apart
    from the baseline as it is."""
    provider = "sqlite" if backend == "sqlite" else "postgresql"
    old, new = _CHANGES[kind][:2] if provider == "sqlite" else _CHANGES[kind][2:]
    same = scratch_catalogue(fresh_url, provider, lambda text: text)
    assert differences(same, scratch_catalogue(fresh_url, provider, lambda text: text)) == []
    changed = scratch_catalogue(fresh_url, provider, lambda text: _replace(text, old, new))
    found = differences(changed, same)
    assert any(f": {_ASPECT[kind]}" in line for line in found), found


_ASPECT = {"type": "column", "nullability": "column", "default": "column", "index": "indexes",
           "primary key": "primary key", "unique": "unique", "foreign key": "foreign keys",
           "check": "checks"}  # fmt: skip


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


# ---- reading a schema ----------------------------------------------------------------------


def catalogue_of(url: str, backend: str) -> Catalogue:
    conn = connect(url)
    try:
        return catalogue(conn, "sqlite" if backend == "sqlite" else "postgresql")
    finally:
        conn.close()


def scratch_catalogue(url: str, provider: str, edit: Any) -> Catalogue:
    """The catalogue of the baseline's statements, their text passed through ``edit``, run in a
    scratch place (SQLite: in memory; PostgreSQL: a schema of a transaction rolled back)."""
    script = edit("\n;\n".join(statements(BASELINE, provider))).split("\n;\n")
    if provider == "sqlite":
        scratch = sqlite3.connect(":memory:")
        try:
            for statement in script:
                scratch.execute(statement)
            return catalogue(scratch, provider)
        finally:
            scratch.close()
    conn = connect(url)
    cursor = conn.cursor()
    try:
        cursor.execute("BEGIN")
        name = f"scratch_{uuid.uuid4().hex[:12]}"
        cursor.execute(f'CREATE SCHEMA "{name}"')
        cursor.execute(f'SET LOCAL search_path TO "{name}"')
        for statement in script:
            cursor.execute(statement)
        return catalogue(conn, provider)
    finally:
        cursor.execute("ROLLBACK")
        conn.close()


def catalogue(conn: Any, provider: str) -> Catalogue:
    """Table -> its columns, primary key, unique constraints, indexes, foreign keys and
    checks, as comparable values (migration bookkeeping left out)."""
    return _sqlite(conn) if provider == "sqlite" else _postgresql(conn)


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _sqlite(conn: Any) -> Catalogue:
    tables = _rows(
        conn,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '%yoyo%' ORDER BY name",
    )
    index_sql = dict(_rows(conn, "SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    found: Catalogue = {}
    for table, table_sql in tables:
        columns = _rows(conn, f'PRAGMA table_xinfo("{table}")')
        entry: dict[str, Any] = {
            "column": {
                name: (kind.upper(), "NOT NULL" if notnull else "NULL", default, hidden)
                for _cid, name, kind, notnull, default, _pk, hidden in columns
            },
            "primary key": tuple(c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5]),
            "autoincrement": "AUTOINCREMENT" in table_sql.upper(),
            "unique": [],
            "indexes": {},
            "checks": sorted(_checks(table_sql)),
        }
        for _seq, name, unique, origin, partial in _rows(conn, f'PRAGMA index_list("{table}")'):
            keys = tuple(
                (column, bool(desc), collation)
                for _n, _cid, column, desc, collation, key in _rows(
                    conn, f'PRAGMA index_xinfo("{name}")'
                )
                if key
            )
            if origin == "u":
                entry["unique"].append(keys)
            elif origin == "c":
                where = _where(index_sql.get(name)) if partial else None
                entry["indexes"][name] = (bool(unique), keys, where)
        entry["unique"].sort()
        fks: dict[int, list[Any]] = {}
        for fk_id, _seq, target, src, dst, on_update, on_delete, match in sorted(
            _rows(conn, f'PRAGMA foreign_key_list("{table}")')
        ):
            fk = fks.setdefault(fk_id, [target, [], [], on_update, on_delete, match])
            fk[1].append(src)
            fk[2].append(dst)
        entry["foreign keys"] = sorted(
            (t, tuple(s), tuple(d), u, de, m) for t, s, d, u, de, m in fks.values()
        )
        found[table] = entry
    return found


_CHECK = re.compile(r"\bCHECK\s*\(", re.IGNORECASE)


def _checks(sql: str) -> list[str]:
    """The CHECK expressions of a CREATE TABLE (SQLite keeps no catalogue of them)."""
    found = []
    for match in _CHECK.finditer(sql):
        depth, start = 1, match.end()
        end = start
        while depth and end < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            end += 1
        found.append(" ".join(sql[start : end - 1].split()))
    return found


def _where(sql: str | None) -> str | None:
    if sql is None:
        return None
    parts = re.split(r"\bWHERE\b", sql, maxsplit=1, flags=re.IGNORECASE)
    return " ".join(parts[1].split()) if len(parts) == 2 else None


_PG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0
   AND NOT a.attisdropped AND c.relname NOT LIKE '%yoyo%'
"""
_PG_CONSTRAINTS = """
SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid)
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = current_schema() AND t.relname NOT LIKE '%yoyo%'
"""
_PG_INDEXES = """
SELECT tablename, indexname, replace(indexdef, ' ON ' || current_schema() || '.', ' ON ')
  FROM pg_indexes WHERE schemaname = current_schema() AND tablename NOT LIKE '%yoyo%'
"""
_PG_KINDS = {"p": "primary key", "u": "unique", "f": "foreign keys", "c": "checks"}


def _postgresql(conn: Any) -> Catalogue:
    found: Catalogue = {}

    def entry(table: str) -> dict[str, Any]:
        return found.setdefault(
            table,
            {"column": {}, "primary key": [], "unique": [], "indexes": {}, "foreign keys": [],
             "checks": []},
        )  # fmt: skip

    for table, name, kind, notnull, default, identity, generated in _rows(conn, _PG_COLUMNS):
        null = "NOT NULL" if notnull else "NULL"
        entry(table)["column"][name] = (kind, null, default, identity + generated)
    for table, name, kind, definition in _rows(conn, _PG_CONSTRAINTS):
        if kind in _PG_KINDS:
            entry(table)[_PG_KINDS[kind]].append((name, definition))
    for table, name, definition in _rows(conn, _PG_INDEXES):
        entry(table)["indexes"][name] = definition
    for item in found.values():
        for aspect in ("primary key", "unique", "foreign keys", "checks"):
            item[aspect].sort()
    return found


def differences(upgraded: Catalogue, fresh: Catalogue) -> list[str]:
    """One line per difference: ``table: aspect: upgraded ... / new ...``."""
    found = []
    for table in sorted(upgraded.keys() | fresh.keys()):
        if table not in upgraded or table not in fresh:
            where = "upgraded" if table in upgraded else "new"
            found.append(f"{table}: table: only in the {where} database")
            continue
        old, new = upgraded[table], fresh[table]
        for aspect in sorted(old.keys() | new.keys()):
            if aspect == "column":
                for column in sorted(old[aspect].keys() | new[aspect].keys()):
                    a, b = old[aspect].get(column), new[aspect].get(column)
                    if a != b:
                        found.append(f"{table}: column {column}: upgraded {a} / new {b}")
            elif old.get(aspect) != new.get(aspect):
                found.append(
                    f"{table}: {aspect}: upgraded {old.get(aspect)} / new {new.get(aspect)}"
                )
    return found
