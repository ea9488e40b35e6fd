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
from store.domain.roles import IdpGrant, idp_grants, mapped_roles, matches
from store.domain.scope import OPERATOR, Scope
from store.queries.filtering import fetch_rows, in_list
from store.records import GroupInput, UserInput
from store.services.connections import create_connection
from store.services.groups import create_group
from store.services.lifecycle import mapping_table
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
