"""Upgrading a 0.1.0 database, on both backends, through every migration this code ships.

Generic on purpose: each new migration in ``store/migrations/`` runs here against the 0.1.0
fixture with no change to this file, and must keep every row, the IdP's token, the operators'
sessions and the worker's lease working."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import falcon.testing
import pytest

from api.app import create_app
from store.config import RateLimitSettings
from store.context import Store, open_store
from store.migrate import (
    BASELINE,
    SchemaError,
    known_migrations,
    schema_status,
    upgrade,
)
from store.schema_check import BaselineMismatch, expected_signature, signature
from store.services.lease import acquire_lease, current_leader
from store.services.sessions import check_session
from tests.support import FakeClock, settings_for
from tests.upgrade.conftest import (
    FUTURE,
    connect,
    execute,
    fixture_facts,
    record_future_migration,
)

SEEDED_AT = datetime(2026, 1, 5, 9, 0, 0)  # the fixture's clock
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def snapshot(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Every row of every table of ``columns`` (default: all 0.1.0 tables, all columns)."""
    if columns is None:
        conn = connect(url)
        try:
            columns = {table: _columns(conn, table) for table in _tables(url)}
        finally:
            conn.close()
    rows = {}
    for table, names in columns.items():
        quoted = ", ".join(f'"{name}"' for name in names)
        found = execute(url, f'SELECT {quoted} FROM "{table}"')
        rows[table] = sorted(tuple(str(v) for v in row) for row in found)
    return {"columns": columns, "rows": rows}


def _tables(url: str) -> list[str]:
    if url.startswith("sqlite"):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return sorted(row[0] for row in execute(url, sql) if "yoyo" not in row[0])


def _columns(conn: Any, table: str) -> list[str]:
    cursor = conn.cursor()
    cursor.execute(f'SELECT * FROM "{table}" WHERE 1 = 0')
    return [d[0] for d in cursor.description]


def api_store(url: str, clock: FakeClock) -> Store:
    limits = RateLimitSettings(requests_per_minute=60, burst=1_000_000)
    store = open_store(settings_for(url))
    return replace(store, clock=clock, settings=replace(store.settings, rate_limit=limits))


def test_a_0_1_0_database_upgrades_keeping_every_row_token_session_and_lease(
    backend: str, v010_url: str
) -> None:
    before = snapshot(v010_url)
    assert all(before["rows"][table] for table in before["rows"]), "the fixture fills every table"
    assert schema_status(v010_url).adopt

    applied = upgrade(v010_url)

    assert applied == known_migrations()
    status = schema_status(v010_url)
    assert status.applied == tuple(known_migrations()) and not status.pending
    assert snapshot(v010_url, before["columns"]) == before  # every row kept, value for value
    facts = fixture_facts(backend)
    clock = FakeClock(SEEDED_AT.replace(minute=5))
    store = api_store(v010_url, clock)
    try:
        client = falcon.testing.TestClient(create_app(store))
        auth = {"Authorization": f"Bearer {facts['token']}"}
        user = client.simulate_get(f"/scim/v2/Users/{facts['users'][0]}", headers=auth)
        assert user.status_code == 200, user.text  # the IdP's token from before the upgrade
        assert user.json["userName"] == "ada@example.com"
        group = client.simulate_get(f"/scim/v2/Groups/{facts['group']}", headers=auth)
        assert [m["value"] for m in group.json["members"]] == [facts["users"][0]]
        new_user = {"schemas": [USER], "userName": "new@example.com"}
        created = client.simulate_post("/scim/v2/Users", headers=auth, json=new_user)
        assert created.status_code == 201, created.text  # new rows take new ids (sequences kept)
        bad = client.simulate_get("/scim/v2/Users", headers={"Authorization": "Bearer tscim_x"})
        assert bad.status_code == 401
        cookie = client.simulate_get("/auth/session", cookies={"control_session": facts["cookie"]})
        assert cookie.status_code == 200, cookie.text  # the operator's session still checks
        assert check_session(store, facts["cookie"]).user_name == "ada@example.com"
        now = SEEDED_AT.replace(tzinfo=UTC).timestamp() + 30
        assert current_leader(store, "worker", now=now) == "host-a:123"
        assert not acquire_lease(store, "worker", "host-b:456", 60, now=now)
        assert acquire_lease(store, "worker", "host-a:123", 60, now=now)
    finally:
        store.close()
    buckets = execute(v010_url, "SELECT key, tat FROM rate_bucket")
    assert len(buckets) >= 1 and buckets != before["rows"]["rate_bucket"]  # the bucket advanced


def test_upgrading_twice_changes_nothing(backend: str, v010_url: str) -> None:
    upgrade(v010_url)
    conn = connect(v010_url)
    try:
        schema = signature(conn, "sqlite" if backend == "sqlite" else "postgresql")
    finally:
        conn.close()
    rows = snapshot(v010_url)
    history = execute(v010_url, "SELECT migration_id, applied_at_utc FROM _yoyo_migration")

    assert upgrade(v010_url) == []

    conn = connect(v010_url)
    try:
        assert signature(conn, "sqlite" if backend == "sqlite" else "postgresql") == schema
    finally:
        conn.close()
    assert snapshot(v010_url) == rows
    assert execute(v010_url, "SELECT migration_id, applied_at_utc FROM _yoyo_migration") == history


def test_a_fresh_database_gets_exactly_the_0_1_0_schema_from_the_baseline(
    backend: str, empty_url: str, v010_url: str
) -> None:
    provider = "sqlite" if backend == "sqlite" else "postgresql"
    conn = connect(v010_url)
    try:  # v010_url holds the tables Pony made at 0.1.0; the baseline run elsewhere matches
        assert signature(conn, provider) == expected_signature(conn, provider)
    finally:
        conn.close()


def test_status_reports_pending_then_current(backend: str, empty_url: str) -> None:
    empty = schema_status(empty_url, create=True)  # a missing SQLite file is made empty
    assert empty.current is None and empty.pending == tuple(known_migrations())
    assert not empty.adopt and not empty.unknown
    upgrade(empty_url)
    done = schema_status(empty_url)
    assert done.current == known_migrations()[-1] and done.pending == () and not done.adopt
    assert execute(empty_url, "SELECT count(*) FROM schema_meta") == [(1,)]


def test_a_0_1_0_database_is_refused_by_commands_until_it_is_upgraded(v010_url: str) -> None:
    status = schema_status(v010_url)
    assert status.adopt and status.pending[0] == BASELINE and status.current is None
    with pytest.raises(SchemaError, match="db upgrade"):
        open_store(settings_for(v010_url))


def test_a_database_newer_than_the_code_is_refused(backend: str, v010_url: str) -> None:
    upgrade(v010_url)
    record_future_migration(v010_url)
    status = schema_status(v010_url)
    assert status.unknown == (FUTURE,)
    for attempt in (lambda: upgrade(v010_url), lambda: open_store(settings_for(v010_url)),
                    lambda: open_store(settings_for(v010_url), create=True)):  # fmt: skip
        with pytest.raises(SchemaError, match="newer than this trident-scim"):
            attempt()


def test_tables_that_are_not_the_0_1_0_schema_are_not_adopted(backend: str, v010_url: str) -> None:
    execute(v010_url, 'DROP INDEX "idx_scim_user__active"')
    with pytest.raises(BaselineMismatch, match="not the 0.1.0 schema"):
        upgrade(v010_url)
    assert schema_status(v010_url).applied == ()  # nothing recorded, nothing run


def test_processes_upgrading_a_0_1_0_database_at_once_adopt_it_once(v010_url: str) -> None:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(upgrade(v010_url))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(str, results)) == sorted([str(known_migrations())] + ["[]"] * 3)
    assert execute(v010_url, "SELECT count(*) FROM _yoyo_migration") == [(len(known_migrations()),)]


def test_upgrading_rekeys_group_names_and_drops_roles_only_a_look_alike_gave(
    backend: str, v010_url: str
) -> None:
    """0.1.0 matched group names by NFKC + casefold, so a fullwidth "Ａdmins" group received
    the role mapped to "Admins". After the upgrade the keys follow ``group_key`` and that role
    is gone (audited); the ASCII group keeps its key and its members keep their roles."""
    [(grace,)] = execute(v010_url, "SELECT id FROM scim_user WHERE user_name = 'grace@example.com'")
    stamp = "'2026-01-05 09:00:00'"
    for sql in (
        "INSERT INTO sso_group_role_mapping (id, group_name, group_name_key, role, created, "
        f"created_by) VALUES (2, 'Admins', 'admins', 'admin', {stamp}, 'operator:seed')",
        "INSERT INTO scim_group (id, display_name, display_name_key, external_id, document, "
        f"created, last_modified, version, member_count) VALUES ('g-fullwidth', 'Ａdmins', "
        f"'admins', NULL, '{{}}', {stamp}, {stamp}, 1, 1)",
        'INSERT INTO scim_membership ("group", "user", created) '
        f"VALUES ('g-fullwidth', '{grace}', {stamp})",
        'INSERT INTO control_role_assignment (id, "user", role, source, via_group, created, '
        f"granted_by) VALUES (3, '{grace}', 'admin', 'idp', 'admins', {stamp}, 'token:x')",
    ):
        execute(v010_url, sql)

    upgrade(v010_url)

    keys = dict(execute(v010_url, "SELECT id, display_name_key FROM scim_group"))
    assert keys["g-fullwidth"] == "ａdmins" and "engineering" in keys.values()
    roles = execute(
        v010_url, f"SELECT role, source FROM control_role_assignment WHERE \"user\" = '{grace}'"
    )
    assert sorted(roles) == [("viewer", "manual")]
    assert execute(
        v010_url, "SELECT count(*) FROM control_role_assignment WHERE role = 'operator'"
    ) == [(1,)]
    audited = execute(v010_url, f"SELECT actor FROM audit_event WHERE target_id = '{grace}'")
    assert ("system:upgrade",) in audited


def _index_names(url: str, table: str) -> set[str]:
    if url.startswith("sqlite"):
        sql = f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}'"
    else:
        sql = f"SELECT indexname FROM pg_indexes WHERE tablename = '{table}'"
    return {row[0] for row in execute(url, sql)}


def test_external_ids_may_be_shared_after_the_upgrade(backend: str, v010_url: str) -> None:
    """0005: externalId loses its unique constraints (RFC 7643 §3.1) and keeps an index; the
    rebuilt SQLite tables are still the parents of memberships, e-mails, sessions and roles."""
    facts = fixture_facts(backend)
    upgrade(v010_url)
    for table in ("scim_user", "scim_group"):
        assert f"idx_{table}__external_id" in _index_names(v010_url, table)
    if backend == "sqlite":
        assert execute(v010_url, "PRAGMA foreign_key_check") == []
        child = execute(v010_url, "SELECT sql FROM sqlite_master WHERE name = 'scim_membership'")
        assert 'REFERENCES "scim_user"' in child[0][0]
    store = api_store(v010_url, FakeClock(SEEDED_AT.replace(minute=5)))
    try:
        client = falcon.testing.TestClient(create_app(store))
        auth = {"Authorization": f"Bearer {facts['token']}"}
        holder = facts["users"][0]
        operation = {"op": "replace", "path": "externalId", "value": "shared"}
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                 "Operations": [operation]}  # fmt: skip
        done = client.simulate_patch(f"/scim/v2/Users/{holder}", headers=auth, json=patch)
        assert done.status_code == 200, done.text
        twin = {"schemas": [USER], "userName": "twin@example.com", "externalId": "shared"}
        created = client.simulate_post("/scim/v2/Users", headers=auth, json=twin)
        assert created.status_code == 201, created.text
        found = client.simulate_get("/scim/v2/Users", headers=auth,
                                    params={"filter": 'externalId eq "shared"'})  # fmt: skip
        assert {u["id"] for u in found.json["Resources"]} == {holder, created.json["id"]}
        group = client.simulate_get(f"/scim/v2/Groups/{facts['group']}", headers=auth).json
        assert [m["value"] for m in group["members"]] == [holder]  # memberships survived
        shared_group = group.get("externalId", "g")
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Twin group", "externalId": shared_group}  # fmt: skip
        again = client.simulate_post("/scim/v2/Groups", headers=auth, json=body)
        assert again.status_code == 201, again.text
    finally:
        store.close()
