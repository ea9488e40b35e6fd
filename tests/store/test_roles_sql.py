"""The IdP-role rule has one definition (``roles.idp_grants``) and one SQL rendering
(``roles.sql_rule``, with which the store diffs and applies grants for many users at once):
both give the same grants, on the databases themselves, for live, inactive, unassigned and
deleted users, groups with and without mapping rows and mapping rows with no group, groups of
one name in several IdP connections, and mapping rows for one connection or for any."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pony.orm import db_session

from store.context import Store
from store.domain.causes import RECONCILE, recomputed
from store.domain.roles import IdpGrant, idp_grants, mapped_roles, matches
from store.domain.scope import OPERATOR, Scope
from store.queries.filtering import fetch_rows, in_list
from store.records import GroupInput, UserInput
from store.services.connections import create_connection
from store.services.groups import create_group
from store.services.lifecycle import by_group_name, mapping_table
from store.services.maintenance import reconcile_roles
from store.services.role_sync import WANTED, WANTED_BY_ID
from store.services.roles import ensure_default_roles, set_mapping
from store.services.users import create_user
from tests.store.identity_factories import make_user, roles_of, soft_delete_user
from tests.worker.factories import set_active_raw

GROUPS = ["Ops", "Dev Team", "Straße", "Finance", "Empty"]
ROLES = ["viewer", "operator", "admin"]
CONNECTIONS = ["Okta", "Entra"]


def _population(store: Store, rng: random.Random) -> None:
    """Two IdP connections (and the operators' default) each with groups of the same
    names, mapping rows for one connection or for any, and users of every state."""
    owners = [create_connection(store, name, None, "op").id for name in CONNECTIONS]
    scopes = [Scope(owner) for owner in owners] + [OPERATOR]
    users = [make_user(store, f"u{i}@corp") for i in range(24)]
    for scope in scopes:
        for name in GROUPS:
            if rng.random() < 0.8:
                data = GroupInput(display_name=name, document={})
                group = create_group(store, data, (), "test", scope=scope)
                # Members of any connection, as an upgrade or a --users-only transfer leaves.
                _add_raw(store, group.id, [u for u in users if rng.random() < 0.4])
    for name in [*GROUPS, "No Such Group"]:
        for role in ROLES:
            for connection in [None, *CONNECTIONS]:
                if rng.random() < 0.3:
                    set_mapping(store, name, role, "op", connection=connection)
    for user_id in users[:4]:
        set_active_raw(store, user_id, False)
    for user_id in users[4:7]:
        soft_delete_user(store, user_id)


def _add_raw(store: Store, group_id: str, user_ids: list[str]) -> None:
    with db_session:
        group = store.db.Group[group_id]
        for user_id in user_ids:
            store.db.Membership(group=group, user=store.db.User[user_id], created=store.clock())


def _by_rule(store: Store) -> set[tuple[str, IdpGrant]]:
    wanted = set()
    with db_session:
        table = mapping_table(store)
        for user in store.db.User.select():
            groups = [(m.group.connection.id, m.group.display_name_key) for m in user.memberships]
            live = user.active and user.deleted_at is None
            wanted |= {(user.id, grant) for grant in idp_grants(live, groups, table)}
    return wanted


@pytest.mark.parametrize("seed", [20261201, 7, 99])
def test_sql_rendering_grants_like_the_rule(store: Store, seed: int) -> None:
    ensure_default_roles(store)
    _population(store, random.Random(seed))
    with db_session:
        rows = fetch_rows(store, WANTED, {})
    by_sql = {(str(user), IdpGrant(role, via)) for user, role, via in rows}
    assert len(rows) == len(by_sql)  # one row per grant, as the rule gives a set
    assert by_sql == _by_rule(store)
    assert by_sql  # the population holds grants at all
    with db_session:  # the form a batch uses, narrowed to users by id, gives the same
        ids = [str(u.id) for u in store.db.User.select()]
        marks, params = in_list(ids, "u")
        narrowed = fetch_rows(store, f'{WANTED_BY_ID} AND u."id" IN {marks}', params)
    assert {(str(user), IdpGrant(role, via)) for user, role, via in narrowed} == by_sql


@given(
    mapping_connection=st.sampled_from([None, 1, 2]),
    mapping_key=st.sampled_from(["ops", "dev"]),
    group_connection=st.sampled_from([1, 2]),
    key=st.sampled_from(["ops", "dev"]),
)
def test_one_match_rule_behind_the_lookup(
    mapping_connection: int | None, mapping_key: str, group_connection: int, key: str
) -> None:
    """``mapped_roles`` (the lookup every recomputation uses) gives a role exactly when
    ``matches`` says the mapping row applies to the group."""
    table = {(mapping_connection, mapping_key): {"admin"}}
    expected = matches(mapping_connection, mapping_key, group_connection, key)
    assert bool(mapped_roles(table, group_connection, key)) == expected
    assert expected == (mapping_key == key and mapping_connection in (None, group_connection))


def test_a_mapping_row_for_one_connection_leaves_the_same_name_elsewhere_alone(
    store: Store,
) -> None:
    ensure_default_roles(store)
    okta, entra = (create_connection(store, n, None, "op").id for n in CONNECTIONS)
    ann = create_user(store, UserInput("ann@corp", {}), "test", scope=Scope(okta)).id
    bob = create_user(store, UserInput("bob@corp", {}), "test", scope=Scope(entra)).id
    admins = GroupInput(display_name="Admins", document={})
    create_group(store, admins, (ann,), "test", scope=Scope(okta))
    create_group(store, admins, (bob,), "test", scope=Scope(entra))
    set_mapping(store, "admins", "admin", "op", connection="Okta")
    assert ("admin", "idp") in roles_of(store, ann)
    assert ("admin", "idp") not in roles_of(store, bob)
    with db_session:
        rows = {(str(u), r) for u, r, _v in fetch_rows(store, WANTED, {})}
    assert rows == {(ann, "admin")}
    set_mapping(store, "Admins", "admin", "op")  # any connection
    assert ("admin", "idp") in roles_of(store, bob)


def _drift(store: Store, rng: random.Random) -> None:
    """Take some IdP rows away and give some users stale ones, raw (as a crash would)."""
    with db_session:
        rows = fetch_rows(
            store,
            'SELECT "id" FROM "control_role_assignment" WHERE "source" = \'idp\' ORDER BY "id"',
            {},
        )
        for (row_id,) in rows:
            if rng.random() < 0.4:
                store.db.execute(
                    'DELETE FROM "control_role_assignment" WHERE "id" = $i', {}, {"i": row_id}
                )
        for user in store.db.User.select().order_by(lambda u: u.id):
            if rng.random() < 0.3:
                role, via = rng.choice(ROLES), rng.choice(["ops", "gone", "finance"])
                if not store.db.RoleAssignment.exists(user=user, role=role, source="idp"):
                    store.db.RoleAssignment(
                        user=user,
                        role=store.db.Role[role],
                        source="idp",
                        via_group=via,
                        granted_by="x",
                        created=store.clock(),
                    )


def _held(store: Store) -> dict[str, set[IdpGrant]]:
    held: dict[str, set[IdpGrant]] = {}
    with db_session:
        for user in store.db.User.select():
            held[user.id] = {
                IdpGrant(a.role.name, a.via_group)
                for a in user.role_assignments
                if a.source == "idp"
            }
    return held


@pytest.mark.parametrize("seed", [20261201, 5])
def test_a_batch_writes_the_rules_roles_and_each_users_own_event(store: Store, seed: int) -> None:
    """Reconcile over a population whose users drifted in many different ways: every
    user ends with the rule's IdP roles, manual ones untouched, and each changed user gets
    exactly the event the rule's per-user rendering (``causes.recomputed``) gives it, even
    though a batch renders each distinct change once."""
    rng = random.Random(seed)
    ensure_default_roles(store)
    _population(store, rng)
    _drift(store, rng)
    with db_session:
        manual = {
            (a.user.id, a.role.name) for a in store.db.RoleAssignment.select() if a.source != "idp"
        }
        names = {u.id: u.user_name for u in store.db.User.select()}
        table = by_group_name(mapping_table(store))
    held = _held(store)
    wanted: dict[str, set[IdpGrant]] = {user_id: set() for user_id in held}
    for user_id, grant in _by_rule(store):
        wanted[user_id].add(grant)
    changed = {u for u in held if held[u] != wanted[u]}
    assert len({(frozenset(held[u]), frozenset(wanted[u])) for u in changed}) > 3
    total = sum(len(held[u] ^ wanted[u]) for u in held)
    assert reconcile_roles(store, actor="worker") == total
    assert _held(store) == wanted
    with db_session:
        assert {
            (a.user.id, a.role.name) for a in store.db.RoleAssignment.select() if a.source != "idp"
        } == manual
        events = list(
            store.db.AuditEvent.select(
                lambda e: e.action == "roles.recomputed" and e.actor == "worker"
            )
        )
        got = {
            e.target_id: (e.target_type, e.target_name, e.before, e.after, e.detail) for e in events
        }
    assert len(events) == len(got) == len(changed)
    for user_id in changed:
        pairs = [(g.role, g.via_group) for g in held[user_id]]
        now = [(g.role, g.via_group) for g in wanted[user_id]]
        added = [(g.role, g.via_group) for g in wanted[user_id] - held[user_id]]
        removed = [(g.role, g.via_group) for g in held[user_id] - wanted[user_id]]
        before, after, detail = recomputed(pairs, now, added, removed, table, RECONCILE)
        assert got[user_id] == ("user", names[user_id], before, after, detail), user_id
