"""The IdP-role rule has one definition (``roles.idp_grants``) and one SQL rendering
(``roles.sql_rule``, with which the store diffs and applies grants for many users at once):
both give the same grants, on the databases themselves, for live, inactive, unassigned and
deleted users, groups with and without mapping rows and mapping rows with no group."""

from __future__ import annotations

import random

from pony.orm import db_session

from store.context import Store
from store.domain.roles import IdpGrant, idp_grants
from store.queries.filtering import fetch_rows
from store.services.lifecycle import mapping_table
from store.services.role_sync import WANTED
from tests.store.identity_factories import make_group, make_user, soft_delete_user
from tests.worker.factories import make_mapping, set_active_raw

GROUPS = ["Ops", "Dev Team", "Straße", "Finance", "Empty"]
ROLES = ["viewer", "operator", "admin"]


def _population(store: Store, rng: random.Random) -> None:
    users = [make_user(store, f"u{i}@corp") for i in range(24)]
    for name in GROUPS:
        make_group(store, name, members=tuple(u for u in users if rng.random() < 0.4))
    for name in [*GROUPS, "No Such Group"]:
        for role in ROLES:
            if rng.random() < 0.5:
                make_mapping(store, name, role)
    for user_id in users[:4]:
        set_active_raw(store, user_id, False)
    for user_id in users[4:7]:
        soft_delete_user(store, user_id)


def _by_rule(store: Store) -> set[tuple[str, IdpGrant]]:
    wanted = set()
    with db_session:
        table = mapping_table(store)
        for user in store.db.User.select():
            keys = [m.group.display_name_key for m in user.memberships]
            live = user.active and user.deleted_at is None
            wanted |= {(user.id, grant) for grant in idp_grants(live, keys, table)}
    return wanted


def test_sql_rendering_grants_like_the_rule(store: Store) -> None:
    _population(store, random.Random(20261201))
    with db_session:
        rows = fetch_rows(store, WANTED, {})
    by_sql = {(str(user), IdpGrant(role, via)) for user, role, via in rows}
    assert len(rows) == len(by_sql)  # one row per grant, as the rule gives a set
    assert by_sql == _by_rule(store)
    assert by_sql  # the population holds grants at all
