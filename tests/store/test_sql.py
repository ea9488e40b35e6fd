"""``store.sql`` is the one module that reaches into Pony's internals. These tests check, on
the pinned Pony release and on both backends, that every internal it relies on is there and
behaves as it expects; each failure names the internal that moved. The last test keeps every
other module of the product away from those internals."""

from __future__ import annotations

import ast
import inspect
import sqlite3
import tomllib
from pathlib import Path

import pony
import pytest
from pony.orm import Database, db_session
from pony.orm import core as pony_core
from pony.orm.dbproviders.postgres import PGPool, PGProvider

from store import sql
from store.context import Store

ROOT = Path(__file__).resolve().parents[2]


def _changed(internal: str, what: str) -> str:
    return f"Pony {pony.__version__}: internal {internal} changed ({what}); see store/sql.py"


# ---- the pin ---------------------------------------------------------------------------------


def test_pony_is_pinned_to_the_release_store_sql_was_checked_against() -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"pony=={sql.PONY_VERSION}" in pins, f"pyproject must pin pony=={sql.PONY_VERSION}"
    assert pony.__version__ == sql.PONY_VERSION, _changed("pony.__version__", "another release")


# ---- the internals exist with the shapes store/sql.py uses --------------------------------


def test_exec_raw_sql_signature() -> None:
    method = getattr(Database, "_exec_raw_sql", None)
    assert method is not None, _changed("Database._exec_raw_sql", "gone")
    params = list(inspect.signature(method).parameters)
    expected = ["self", "sql", "globals", "locals", "frame_depth", "start_transaction"]
    assert params == expected, _changed("Database._exec_raw_sql", f"parameters {params}")
    default = inspect.signature(method).parameters["start_transaction"].default
    assert default is False, _changed("Database._exec_raw_sql", "start_transaction default")


def test_module_level_internals() -> None:
    assert isinstance(getattr(pony_core, "adapted_sql_cache", None), dict), _changed(
        "pony.orm.core.adapted_sql_cache", "not a dict"
    )
    local = getattr(pony_core, "local", None)
    assert local is not None and hasattr(local, "db_session"), _changed(
        "pony.orm.core.local.db_session", "gone"
    )
    assert isinstance(getattr(Database, "local_stats", None), property), _changed(
        "Database.local_stats", "not a property"
    )
    stat = pony_core.QueryStat(None)
    assert stat.db_count == 0, _changed("QueryStat.db_count", "not a counter from 0")


def test_postgres_pool_and_provider_hooks() -> None:
    assert callable(getattr(PGPool, "release", None)), _changed("PGPool.release", "gone")
    assert callable(getattr(PGPool, "drop", None)), _changed("PGPool.drop", "gone")
    assert list(inspect.signature(PGPool.release).parameters) == ["self", "con"], _changed(
        "PGPool.release", "parameters"
    )
    assert callable(getattr(PGProvider, "get_pool", None)), _changed("PGProvider.get_pool", "gone")
    source = inspect.getsource(PGPool.release)
    assert "DISCARD ALL" in source, _changed("PGPool.release", "no longer sends DISCARD ALL")


# ---- and behave as store/sql.py expects, on both backends -------------------------------


def test_bound_parameters_round_trip_and_are_never_evaluated(store: Store) -> None:
    """Values travel as bound parameters: quotes, ``$``, ``%`` and Python come back as text."""
    values = {
        "quote": "O'Brien\"; DROP TABLE scim_user; --",
        "dollar": "$(__import__('os').getcwd())",
        "percent": "100% of %(p1)s and %s",
        "number": 42,
        "nothing": None,
    }
    text = "SELECT $quote, $dollar, $percent, $number, $nothing"
    with db_session:
        rows = sql.select_rows(store.db, text, values)
    assert rows == [tuple(values.values())], _changed("Database._exec_raw_sql", f"got {rows}")


def test_execute_counts_rows_and_returns_selected_ones(store: Store) -> None:
    key = "test-sql:execute"
    with db_session:
        insert = sql.execute(
            store.db,
            'INSERT INTO "rate_bucket" ("key", "tat") VALUES ($key, $tat)',
            {"key": key, "tat": 1.5},
        )
        assert insert.rowcount == 1 and insert.rows == [], _changed("cursor.rowcount", "insert")
        update = sql.execute(
            store.db,
            'UPDATE "rate_bucket" SET "tat" = $tat WHERE "key" = $key',
            {"key": key, "tat": 2.5},
        )
        assert update.rowcount == 1, _changed("cursor.rowcount", "update")
        missed = sql.execute(
            store.db, 'UPDATE "rate_bucket" SET "tat" = 0 WHERE "key" = $key', {"key": "none"}
        )
        assert missed.rowcount == 0, _changed("cursor.rowcount", "update of no row")
        found = sql.execute(
            store.db, 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key', {"key": key}
        )
        assert found.rows == [(2.5,)], _changed("Database._exec_raw_sql", "rows of a write read")
    with db_session:  # the write transaction was committed when the db_session ended
        rows = sql.select_rows(
            store.db, 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key', {"key": key}
        )
        sql.execute(store.db, 'DELETE FROM "rate_bucket" WHERE "key" = $key', {"key": key})
    assert rows == [(2.5,)], _changed("start_transaction", "a raw write was not committed")


def test_execute_unflushed_leaves_pending_entity_changes_pending(store: Store) -> None:
    key = "test-sql:unflushed"
    with db_session:
        store.db.RateBucket(key=key, tat=1.0)
        flushed = sql.execute(store.db, 'SELECT COUNT(*) FROM "rate_bucket" WHERE "key" = $key',
                              {"key": key}).rows  # fmt: skip
        bucket = store.db.RateBucket[key]
        bucket.tat = 2.0
        unflushed = sql.execute_unflushed(
            store.db, 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key', {"key": key}
        ).rows
        later = sql.execute(
            store.db, 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key', {"key": key}
        ).rows
        bucket.delete()
    assert flushed == [(1,)], _changed("SessionCache.flush", "no write before a statement")
    assert unflushed == [(1.0,)], _changed("SessionCache.flush_disabled", "the change was written")
    assert later == [(2.0,)], _changed("SessionCache.flush_disabled", "the change was lost")


def test_execute_takes_the_write_transaction_and_select_does_not(store: Store) -> None:
    if store.provider != "sqlite":
        pytest.skip("PostgreSQL's driver opens a transaction for any statement")
    with db_session:
        sql.select_rows(store.db, "SELECT 1")
        connection = sql.connection(store.db)
        assert isinstance(connection, sqlite3.Connection)
    with db_session:
        sql.select_rows(store.db, "SELECT 1")
        # get_connection itself begins the transaction, so ask the cursor's connection
        read_only = not _sqlite_connection_in_transaction(store)
        sql.execute(store.db, "SELECT 1")
        written = _sqlite_connection_in_transaction(store)
    assert read_only, _changed("start_transaction=False", "a read began a transaction")
    assert written, _changed("start_transaction=True", "no BEGIN IMMEDIATE before the statement")


def test_in_write_transaction_follows_the_write_transaction(store: Store) -> None:
    with db_session:
        sql.select_rows(store.db, "SELECT 1")
        after_read = sql.in_write_transaction(store.db)
        sql.execute(store.db, "SELECT 1")
        after_write = sql.in_write_transaction(store.db)
    with db_session:
        store.db.Connection.select().for_update()[:1]
        after_lock = sql.in_write_transaction(store.db)
    with db_session:
        fresh = sql.in_write_transaction(store.db)
    assert not after_read, _changed("SessionCache.immediate", "set by a read")
    assert after_write, _changed("SessionCache.in_transaction", "not set by a write")
    assert after_lock, _changed("SessionCache.immediate", "not set by for_update")
    assert not fresh, _changed("SessionCache.immediate", "kept from the last db_session")
    if store.provider == "sqlite":
        with db_session:
            sql.execute(store.db, "SELECT 1")
            assert sql.in_write_transaction(store.db) == _sqlite_connection_in_transaction(store)


def _sqlite_connection_in_transaction(store: Store) -> bool:
    cache = pony_core.local.db2cache[store.db]
    return bool(cache.connection is not None and cache.connection.in_transaction)


def test_the_cache_holds_the_drivers_text(store: Store) -> None:
    text = "SELECT '50%' || $value"
    with db_session:
        assert sql.select_rows(store.db, text, {"value": "x"}) == [("50%x",)]
    adapted = sql.adapted(store.db, text)
    expected = "SELECT '50%' || ?" if store.provider == "sqlite" else "SELECT '50%%' || %(p1)s"
    assert adapted == expected, _changed("pony.orm.core.adapted_sql_cache", f"entry {adapted!r}")


def test_statistics_count_reset_and_name_the_statement(store: Store) -> None:
    with db_session:
        sql.select_rows(store.db, "SELECT 1")
        sql.reset_stats(store.db)
        assert sql.statements_sent(store.db) == 0, _changed("Database.local_stats", "no reset")
        sql.select_rows(store.db, "SELECT $a", {"a": 1})
        sql.select_rows(store.db, "SELECT $a", {"a": 2})
        sql.execute(store.db, "SELECT 2")
        counts = sql.statement_counts(store.db)
        sent = sql.statements_sent(store.db)
    driver = sql.adapted(store.db, "SELECT $a")
    assert sent == 3, _changed("Database.local_stats", f"total {sent}")
    assert driver is not None and counts.get(driver) == 2, _changed("local_stats", f"{counts}")
    assert counts.get("SELECT 2") == 1, _changed("Database.local_stats", f"{counts}")


def test_request_built_texts_leave_no_statistics_and_are_evicted(store: Store) -> None:
    first = "SELECT 'transient-0' || $v"
    with db_session:
        sql.reset_stats(store.db)
        sql.select_rows_transient(store.db, first, {"v": "x"})
        assert sql.statement_counts(store.db) == {}, _changed("local_stats", "entry not dropped")
        assert sql.adapted(store.db, first) is not None, _changed("adapted_sql_cache", "no entry")
        for i in range(1, sql.MAX_CACHED_TEXTS + 1):
            sql.select_rows_transient(store.db, f"SELECT 'transient-{i}' || $v", {"v": "x"})
    assert sql.adapted(store.db, first) is None, _changed("adapted_sql_cache", "not evicted")
    assert sql.adapted(store.db, f"SELECT 'transient-{sql.MAX_CACHED_TEXTS}' || $v") is not None


def test_the_db_session_marker(store: Store) -> None:
    assert not sql.in_db_session(), _changed("pony.orm.core.local.db_session", "set outside")
    with db_session:
        assert sql.in_db_session(), _changed("pony.orm.core.local.db_session", "unset inside")
    assert not sql.in_db_session()


def test_postgres_connections_are_kept_without_discard_all(store: Store) -> None:
    if store.provider != "postgres":
        pytest.skip("PostgreSQL's pool only")
    assert isinstance(store.db.provider, sql.PostgresProvider), _changed("bind(provider=)", "")
    with db_session:
        ((pid, _),) = sql.execute(
            store.db, "SELECT pg_backend_pid(), set_config('trident.sql_test', 'kept', false)"
        ).rows
    with db_session:
        ((again, kept),) = sql.select_rows(
            store.db, "SELECT pg_backend_pid(), current_setting('trident.sql_test', true)"
        )
        sql.execute(store.db, "SELECT set_config('trident.sql_test', '', false)")
    assert again == pid, _changed("PGPool", "the connection was not kept for the thread")
    assert kept == "kept", _changed("PGPool.release", "the session was reset (DISCARD ALL)")


# ---- nothing else touches them ---------------------------------------------------------------

PRIVATE_NAMES = {
    "_exec_raw_sql",
    "_exec_sql",
    "adapted_sql_cache",
    "local_stats",
    "merge_local_stats",
    "_dblocal",
    "_get_cache",
    "db2cache",
    "PGPool",
    "PGProvider",
    "QueryStat",
}
PUBLIC_PONY_MODULES = {"pony.orm"}
PRODUCT = ("store", "api", "worker", "cli", "tui")


def _violations(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        line = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("pony")]
            found += [f"{line} imports {n}" for n in names if n not in PUBLIC_PONY_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pony"):
            if node.module not in PUBLIC_PONY_MODULES:
                found.append(f"{line} imports from {node.module}")
            found += [
                f"{line} imports pony.orm.{a.name}"
                for a in node.names
                if a.name == "core" or a.name.startswith("_") or a.name in PRIVATE_NAMES
            ]
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES:
            found.append(f"{line} uses .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in PRIVATE_NAMES:
            found.append(f"{line} uses {node.id}")
    return found


def test_only_store_sql_touches_ponys_internals() -> None:
    files = [p for package in PRODUCT for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 50
    found = [v for p in files if p != ROOT / "store" / "sql.py" for v in _violations(p)]
    assert not found, "Pony internals outside store/sql.py:\n" + "\n".join(found)
    assert _violations(ROOT / "store" / "sql.py"), "the scan no longer sees store/sql.py's uses"
