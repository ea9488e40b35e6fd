"""Every read that hands out a user builds it the same way: the SCIM reads (by id, by name,
a listing page) and the operators' detail give the same record, and the operators' user list
names each role's source as the detail does."""

from __future__ import annotations

from store.context import Store
from store.domain.criteria import Compare
from store.queries.directory import search_users
from store.queries.identity import user_detail
from store.queries.users import find_user, get_user, list_users
from store.records import RoleSource
from tests.store.identity_factories import add_member, make_group
from tests.store.test_users_helpers import grant_manual, mapped_role, new_user


def test_every_read_builds_the_same_user_record(store: Store) -> None:
    user_id = new_user(store, "Jane@Example.com", display_name="Jane")
    add_member(store, make_group(store, "Ops Team"), user_id)
    add_member(store, make_group(store, "Éclair"), user_id)
    by_id = get_user(store, user_id)
    assert [g.display_name for g in by_id.groups] == ["Ops Team", "Éclair"]
    assert by_id.active is True and by_id.document["userName"] == "Jane@Example.com"
    assert find_user(store, "jane@example.com") == by_id
    (listed,) = list_users(store, Compare("userName", "eq", "jane@example.com"), 1, 10).items
    assert listed == by_id
    assert user_detail(store, user_id).user == by_id


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
