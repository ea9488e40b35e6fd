"""Migration 0007 (IdP connections) on a database upgraded from 0.1.0, on both backends:
each token name becomes a connection owning its tokens (revoked ones too); each user and
group goes to the connection of the token whose creation the audit records, anything else to
``default``; the tokens still authenticate and now see only their own connection; group
names become unique per connection; the operator hold, id sequences and every other row
carry over."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import falcon.testing

from api.app import create_app
from store.config import RateLimitSettings
from store.context import Store, open_store
from store.migrate import upgrade
from store.services.connections import list_connections
from store.services.roles import set_mapping
from tests.support import FakeClock, settings_for
from tests.upgrade.conftest import execute, fixture_facts
from tests.upgrade.test_upgrade_hold import _upgrade_until

ENTRA_SECRET = "tscim_" + "E" * 43
AT = "2026-01-05 09:30:00"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _ts(backend: str) -> str:
    return f"'{AT}.000000'" if backend == "sqlite" else f"TIMESTAMP '{AT}'"


def _true(backend: str) -> str:
    return "1" if backend == "sqlite" else "TRUE"


def _token(url: str, backend: str, token_id: int, name: str, key: str, secret: str,
           revoked: bool = False) -> None:  # fmt: skip
    digest = hashlib.sha256(secret.encode()).hexdigest()
    revoked_at = _ts(backend) if revoked else "NULL"
    execute(url, 'INSERT INTO "scim_token" ("id", "name", "name_key", "prefix", "secret_hash", '
                 '"created", "created_by", "revoked_at") VALUES '
                 f"({token_id}, '{name}', '{key}', '{secret[:10]}', '{digest}', {_ts(backend)}, "
                 f"'operator:seed', {revoked_at})")  # fmt: skip


def _user(url: str, backend: str, user_id: str, name: str, deleted: bool = False) -> None:
    key = "NULL" if deleted else f"'{name}'"
    gone = _ts(backend) if deleted else "NULL"
    held = user_id.endswith("held")
    held_at, held_by = (_ts(backend), "'operator:x'") if held else ("NULL", "NULL")
    execute(url, 'INSERT INTO "scim_user" ("id", "user_name", "user_name_key", "active", '
                 '"document", "created", "last_modified", "version", "deleted_at", "held_at", '
                 f"\"held_by\") VALUES ('{user_id}', '{name}', {key}, {_true(backend)}, '{{}}', "
                 f"{_ts(backend)}, {_ts(backend)}, 1, {gone}, {held_at}, {held_by})")  # fmt: skip


def _group(url: str, backend: str, group_id: str, name: str) -> None:
    execute(url, 'INSERT INTO "scim_group" ("id", "display_name", "display_name_key", '
                 '"document", "created", "last_modified", "version", "member_count") VALUES '
                 f"('{group_id}', '{name}', '{name.lower()}', '{{}}', {_ts(backend)}, "
                 f"{_ts(backend)}, 1, 0)")  # fmt: skip


def _created(url: str, backend: str, kind: str, target: str, actor: str) -> None:
    execute(
        url,
        'INSERT INTO "audit_event" ("at", "actor", "action", "target_type", '
        '"target_id", "target_name", "detail") VALUES '
        f"({_ts(backend)}, '{actor}', '{kind}.created', '{kind}', '{target}', '', '')",
    )


def _seed_before_0007(url: str, backend: str) -> None:
    """What a 0.2 database may hold beyond the 0.1.0 fixture: a second IdP's token and what it
    created, a revoked predecessor of the first token, users no token created, a held user
    and a deleted one."""
    _token(url, backend, 2, "Entra ID", "entra id", ENTRA_SECRET)
    _token(url, backend, 3, "OKTA scim", "okta scim#revoked#3", "tscim_" + "R" * 43, True)
    people = [("e" * 32, "eve@example.com"), ("o" * 28 + "held", "olga@example.com"),
              ("u" * 32, "una@example.com"), ("g" * 32, "gus@example.com")]  # fmt: skip
    for user_id, name in people:
        _user(url, backend, user_id, name)
    _user(url, backend, "d" * 32, "dora@example.com", deleted=True)
    _created(url, backend, "user", "e" * 32, "token:Entra ID")
    _created(url, backend, "user", "o" * 28 + "held", "token:OKTA scim")  # the revoked one's name
    _created(url, backend, "user", "g" * 32, "token:Gone")  # no token of that name: unknown
    _created(url, backend, "user", "d" * 32, "token:Entra ID")
    # una@example.com has no creation event: unknown creator
    _group(url, backend, "s" * 32, "Sales")
    _created(url, backend, "group", "s" * 32, "token:Entra ID")
    _group(url, backend, "x" * 32, "Stray")  # no creation event
    # A mapping row whose id was deleted: new rows must not take its id again.
    execute(url, 'INSERT INTO "sso_group_role_mapping" ("id", "group_name", "group_name_key", '
                 f'"role", "created", "created_by") VALUES (40, \'Old\', \'old\', \'viewer\', '
                 f"{_ts(backend)}, 'op')")  # fmt: skip
    execute(url, 'DELETE FROM "sso_group_role_mapping" WHERE "id" = 40')
    if backend == "postgresql":  # an explicit id does not move a PostgreSQL sequence
        execute(url, "SELECT setval('sso_group_role_mapping_id_seq', 40)")


def _owners(url: str, table: str) -> dict[str, str]:
    rows = execute(url, f'SELECT t."id", c."name" FROM "{table}" t JOIN "scim_connection" c '
                        'ON c."id" = t."connection_id"')  # fmt: skip
    return {str(i): str(n) for i, n in rows}


def _api(url: str) -> tuple[Store, falcon.testing.TestClient]:
    limits = RateLimitSettings(requests_per_minute=60, burst=1_000_000)
    store = open_store(settings_for(url))
    store = replace(store, clock=FakeClock(), settings=replace(store.settings, rate_limit=limits))
    return store, falcon.testing.TestClient(create_app(store))


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_each_token_name_becomes_a_connection_owning_what_it_created(
    backend: str, v010_url: str
) -> None:
    _upgrade_until(v010_url, "0006_pending_recompute")
    _seed_before_0007(v010_url, backend)
    assert "0007_connections" in upgrade(v010_url)  # 0008 (sessions) may come with it

    facts = fixture_facts(backend)
    ada, grace = facts["users"]
    names = {str(row[0]) for row in execute(v010_url, 'SELECT "name" FROM "scim_connection"')}
    assert names == {"default", "Entra ID", "Okta SCIM"}
    tokens = _owners(v010_url, "scim_token")
    assert tokens == {"1": "Okta SCIM", "2": "Entra ID", "3": "Okta SCIM"}
    users = _owners(v010_url, "scim_user")
    assert users == {
        ada: "Okta SCIM", grace: "Okta SCIM",  # the fixture's IdP created them
        "e" * 32: "Entra ID", "d" * 32: "Entra ID",  # deleted users keep their owner too
        "o" * 28 + "held": "Okta SCIM",  # created under the revoked token's name
        "u" * 32: "default", "g" * 32: "default",  # no creation event / unknown token
    }  # fmt: skip
    groups = _owners(v010_url, "scim_group")
    assert groups == {facts["group"]: "Okta SCIM", "s" * 32: "Entra ID", "x" * 32: "default"}
    held = execute(v010_url, 'SELECT "held_by" FROM "scim_user" WHERE "held_at" IS NOT NULL')
    assert held == [("operator:x",)]  # the hold columns came through the rebuild
    mapping = execute(v010_url, 'SELECT "connection_id" FROM "sso_group_role_mapping"')
    assert mapping == [(None,)]  # the fixture's mapping row matches every connection
    log = execute(v010_url, 'SELECT "connection" FROM "request_activity"')
    assert log and {row[0] for row in log} == {None}
    assert not execute(
        v010_url,
        "SELECT 1 FROM "
        + ("sqlite_master WHERE name" if backend == "sqlite" else "pg_tables WHERE tablename")
        + " = 'connection_owner_0007'",
    )

    store, client = _api(v010_url)
    try:
        okta, entra = _auth(facts["token"]), _auth(ENTRA_SECRET)
        assert client.simulate_get(f"/scim/v2/Users/{ada}", headers=okta).status_code == 200
        assert client.simulate_get(f"/scim/v2/Users/{ada}", headers=entra).status_code == 404
        listed = client.simulate_get("/scim/v2/Users", headers=entra).json
        assert [u["userName"] for u in listed["Resources"]] == ["eve@example.com"]
        group = client.simulate_get(f"/scim/v2/Groups/{facts['group']}", headers=okta).json
        assert [m["value"] for m in group["members"]] == [ada]
        # Group names are unique per connection now: Entra may push its own Engineering.
        body: dict[str, Any] = {"schemas": [GROUP], "displayName": "Engineering"}
        assert client.simulate_post("/scim/v2/Groups", headers=entra, json=body).status_code == 201
        again = client.simulate_post("/scim/v2/Groups", headers=okta, json=body)
        assert again.status_code == 409
        new = {"schemas": [USER], "userName": "eve@example.com"}
        assert client.simulate_post("/scim/v2/Users", headers=okta, json=new).status_code == 409
        found = {c.name: c for c in list_connections(store)}
        assert (found["Okta SCIM"].user_count, found["Okta SCIM"].group_count) == (3, 1)
        assert [t.id for t in found["Okta SCIM"].tokens] == [1, 3]
        assert found["default"].status == "no tokens" and found["default"].user_count == 2
        added = set_mapping(store, "Newer", "viewer", "operator:test")
        assert added.connection is None
        ids = execute(v010_url, 'SELECT MAX("id") FROM "sso_group_role_mapping"')
        assert int(ids[0][0]) > 40  # the sequence carried over the rebuild
    finally:
        store.close()


def test_the_fallback_connection_never_takes_a_tokens_name(backend: str, v010_url: str) -> None:
    _upgrade_until(v010_url, "0006_pending_recompute")
    _token(v010_url, backend, 2, "Default", "default", ENTRA_SECRET)
    _user(v010_url, backend, "u" * 32, "una@example.com")
    upgrade(v010_url)
    assert _owners(v010_url, "scim_user")["u" * 32] == "default-2"
    assert _owners(v010_url, "scim_token")["2"] == "Default"
