"""The data step that moves stored group-name keys to ``names.group_key``, on SQLite and
PostgreSQL: rows are written as the previous release wrote them (``fold`` keys), then the step
runs on a plain DB-API connection as a migration would."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import psycopg2
from pony.orm import db_session

from store.context import Store
from store.db import parse_database_url
from store.domain.names import fold, group_key
from store.group_name_keys import ACTOR, RekeyReport, recompute_group_name_keys
from store.queries.identity import audit_events
from store.records import MembershipChange
from store.services.connections import default_connection
from store.services.groups import change_group
from tests.store.identity_factories import make_user, roles_of

T0 = datetime(2026, 1, 5, 9, 0, 0)


def _connect(url: str) -> Any:
    args = parse_database_url(url)
    if args["provider"] == "sqlite":
        return sqlite3.connect(args["filename"])
    return psycopg2.connect(
        host=args["host"], port=args["port"], user=args["user"], dbname=args["database"]
    )


def _upgrade(url: str) -> RekeyReport:
    """The step on its own connection, committed, as a migration runs it."""
    connection = _connect(url)
    try:
        report = recompute_group_name_keys(connection, T0)
        connection.commit()
        return report
    finally:
        connection.close()


def _old_group(store: Store, name: str, members: tuple[str, ...], age: int) -> str:
    """A group as the previous release stored it: untrimmed name, ``fold`` key."""
    with db_session:
        group = store.db.Group(
            id=store.new_id(), connection=default_connection(store, "test"), display_name=name,
            display_name_key=fold(name), document={},
            created=T0 - timedelta(days=age), last_modified=T0, member_count=len(members),
        )  # fmt: skip
        for user_id in members:
            store.db.Membership(group=group, user=store.db.User[user_id], created=T0)
        return str(group.id)


def _old_mapping(store: Store, name: str, role: str, members: tuple[str, ...]) -> None:
    """A mapping row with its ``fold`` key, and the IdP role rows it gave the members."""
    with db_session:
        role_row = store.db.Role.get(name=role) or store.db.Role(name=role, created=T0)
        store.db.GroupRoleMapping(
            group_name=name, group_name_key=fold(name), role=role_row, created=T0, created_by="op"
        )
        for user_id in members:
            store.db.RoleAssignment(
                user=store.db.User[user_id], role=role_row, source="idp",
                via_group=fold(name), created=T0, granted_by="test",
            )  # fmt: skip


def _keys(store: Store) -> tuple[dict[str, tuple[str, str]], set[str], set[str]]:
    with db_session:
        groups = {g.id: (g.display_name, g.display_name_key) for g in store.db.Group.select()}
        mappings = {m.group_name_key for m in store.db.GroupRoleMapping.select()}
        vias = {a.via_group for a in store.db.RoleAssignment.select() if a.source == "idp"}
    return groups, mappings, vias


def test_keys_move_to_group_key_and_look_alike_roles_go(store: Store, store_url: str) -> None:
    jane, bob, ann, cas = (make_user(store, n) for n in ("jane", "bob", "ann", "cas"))
    lookalike = _old_group(store, "Ａdmins", (jane,), age=5)  # took the roles of "Admins"
    _old_mapping(store, "Admins", "admin", (jane,))
    strasse = _old_group(store, "Straße Team", (bob,), age=4)
    _old_mapping(store, "Strasse Team", "operator", (bob,))
    finance = _old_group(store, "Finance", (ann,), age=2)
    cafe = _old_group(store, "Cafe\u0301", (cas,), age=1)  # decomposed é
    _old_mapping(store, "Café", "viewer", (cas,))

    report = _upgrade(store_url)

    groups, mappings, vias = _keys(store)
    assert groups[lookalike] == ("Ａdmins", "ａdmins")
    assert groups[strasse] == ("Straße Team", "straße team")
    assert groups[finance] == ("Finance", "finance")
    assert groups[cafe] == ("Cafe\u0301", group_key("Café"))
    assert mappings == {"admins", "strasse team", group_key("Café")}
    assert vias == {group_key("Café")}
    assert (report.groups_rekeyed, report.mappings_rekeyed) == (2, 0)
    assert report.assignments_removed == 2
    assert roles_of(store, jane) == set() and roles_of(store, bob) == set()
    assert roles_of(store, cas) == {("viewer", "idp")}
    event = audit_events(store, "user", jane)[-1]
    assert event.actor == ACTOR and event.before == {"removed": ["admin"]}
    assert audit_events(store, "user", cas) == []


def test_a_database_already_on_group_keys_is_left_as_it_is(store: Store, store_url: str) -> None:
    jane = make_user(store, "jane")
    _old_group(store, "Engineering", (jane,), age=1)  # fold and group_key agree on ASCII
    _old_mapping(store, "Engineering", "operator", (jane,))
    before = _keys(store)
    report = _upgrade(store_url)
    assert _keys(store) == before and roles_of(store, jane) == {("operator", "idp")}
    assert (report.groups_rekeyed, report.mappings_rekeyed, report.assignments_removed) == (0, 0, 0)


def test_a_rename_to_the_same_name_heals_a_stale_key(store: Store) -> None:
    """Okta re-sends the group name with every membership change: a group still on its old
    key gets the new one then, even before the upgrade step ran."""
    group_id = _old_group(store, "Straße Team", (), age=1)
    rename = [MembershipChange("rename", value="Straße Team")]
    change_group(store, group_id, lambda _group: rename, "token:okta")
    assert _keys(store)[0][group_id] == ("Straße Team", "straße team")
