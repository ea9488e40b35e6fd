"""Every read that hands out a user builds it the same way: the SCIM reads (by id, by name,
a listing page) and the operators' detail give the same record, and the operators' user list
names each role's source as the detail does."""

from __future__ import annotations

from store.context import Store
from store.domain.criteria import Compare
from store.queries.directory import search_users
from store.queries.identity import user_detail
from store.queries.users import find_user, get_user, list_users
from store.records import RoleSource, UserRecord
from store.services.users import replace_user
from tests.store.identity_factories import add_member, make_group
from tests.store.test_users_helpers import (
    ACTOR,
    grant_manual,
    mapped_role,
    new_user,
    user_input,
)
from tests.support import FakeClock, aware


def _every_read(store: Store, user_id: str, user_name: str) -> UserRecord:
    """The user as each read hands it out (by id, by name, a listing page, the operators'
    detail), asserted to be one record."""
    by_id = get_user(store, user_id)
    assert find_user(store, user_name.lower()) == by_id
    (listed,) = list_users(store, Compare("userName", "eq", user_name.lower()), 1, 10).items
    assert listed == by_id
    assert user_detail(store, user_id).user == by_id
    return by_id


def test_every_read_builds_the_same_user_record(store: Store, clock: FakeClock) -> None:
    """The reads agree, and what they agree on is what was written: a builder that got a
    field wrong in every read alike fails here too."""
    created = clock()
    user_id = new_user(store, "Jane@Example.com", display_name="Jane", external_id="ext-jane")
    add_member(store, make_group(store, "Ops Team"), user_id)
    add_member(store, make_group(store, "Éclair"), user_id)
    by_id = _every_read(store, user_id, "Jane@Example.com")
    assert [g.display_name for g in by_id.groups] == ["Ops Team", "Éclair"]
    assert by_id.active is True and by_id.document["userName"] == "Jane@Example.com"
    assert (by_id.id, by_id.user_name, by_id.external_id, by_id.display_name) == (
        user_id,
        "Jane@Example.com",
        "ext-jane",
        "Jane",
    )
    assert by_id.created == by_id.last_modified == aware(created) and by_id.version == 1

    modified = clock.advance(60)
    data = user_input("Jane@Example.com", display_name="Jane D", external_id=None, active=False)
    replace_user(store, user_id, data, ACTOR)
    again = _every_read(store, user_id, "Jane@Example.com")
    assert (again.active, again.display_name, again.external_id) == (False, "Jane D", None)
    assert (again.created, again.last_modified) == (aware(created), aware(modified))
    assert again.version == 2 and again.groups == by_id.groups


def test_the_user_list_and_the_detail_name_role_sources_alike(store: Store) -> None:
    user_id = new_user(store, "jane@example.com")
    mapped_role(store, "Ops Team", "operator")
    add_member(store, make_group(store, "ops team"), user_id)
    grant_manual(store, "jane@example.com", "auditor")
    detail = user_detail(store, user_id)
    from_detail = tuple(RoleSource(r.role, r.source, r.via_group) for r in detail.roles)
    assert from_detail == (
        RoleSource("auditor", "manual", None),
        RoleSource("operator", "idp", "Ops Team"),
    )
    (summary,) = search_users(store, "jane").items
    assert summary.roles == from_detail
