"""SCIM Groups in the store: create, PATCH as deltas (all or nothing), PUT, delete."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.criteria import Compare
from store.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from store.queries.groups import get_group, list_groups
from store.queries.users import get_user
from store.records import GroupRecord, MembershipChange
from store.services.groups import change_group, create_group, delete_group, replace_group
from store.services.users import delete_user
from tests.store.test_users_helpers import (
    ACTOR,
    audit_actions,
    bulk_users,
    group_input,
    mapped_role,
    new_user,
    roles_of,
    statement_count,
)

Add = lambda *ids: MembershipChange("add", tuple(ids))  # noqa: E731
Remove = lambda *ids: MembershipChange("remove", tuple(ids))  # noqa: E731


def _member_ids(store: Store, group_id: str) -> set[str]:
    return {m.id for m in get_group(store, group_id).members or ()}


def _patch(store: Store, group_id: str, *changes: MembershipChange, **kw: object) -> GroupRecord:
    return change_group(store, group_id, lambda current: changes, ACTOR, **kw)  # type: ignore[arg-type]


def test_create_with_members_lists_them_by_user_name(store: Store) -> None:
    bob = new_user(store, "bob@example.com")
    alice = new_user(store, "Alice@example.com")
    group = create_group(
        store, group_input("Engineering", external_id="okta-g1"), (bob, alice), ACTOR
    )
    assert group.display_name == "Engineering" and group.external_id == "okta-g1"
    assert group.member_count == 2 and group.version == 1
    assert [(m.id, m.display) for m in group.members or ()] == [
        (alice, "Alice@example.com"),
        (bob, "bob@example.com"),
    ]
    assert get_group(store, group.id) == group
    assert get_group(store, group.id, include_members=False).members is None
    assert [g.display_name for g in get_user(store, bob).groups] == ["Engineering"]
    assert audit_actions(store, group.id) == ["group.created"]


def test_group_names_are_unique_and_external_ids_need_not_be(store: Store) -> None:
    first = create_group(store, group_input("Straße", external_id="g-1"), (), ACTOR)
    with pytest.raises(Conflict) as caught:
        create_group(store, group_input(" STRAẞE "), (), ACTOR)
    assert caught.value.attribute == "displayName"
    create_group(store, group_input("STRASSE"), (), ACTOR)  # ß is not ss in group names
    second = create_group(store, group_input("Other", external_id="g-1"), (), ACTOR)
    create_group(store, group_input("Third", external_id="G-1"), (), ACTOR)  # case-exact
    both = list_groups(store, Compare("externalId", "eq", "g-1"), 1, 10, None, False)
    assert sorted(g.id for g in both.items) == sorted((first.id, second.id))


def test_unknown_or_deleted_members_are_invalid(store: Store) -> None:
    gone = new_user(store, "gone@example.com")
    delete_user(store, gone, ACTOR)
    for member in ("no-such-user", gone):
        with pytest.raises(InvalidInput) as caught:
            create_group(store, group_input("Eng"), (member,), ACTOR)
        assert caught.value.attribute == "members"
    assert list_groups(store, None, 1, 10).total == 0


def test_adds_are_idempotent_and_removing_a_non_member_is_fine(store: Store) -> None:
    jane, john = new_user(store, "jane@example.com"), new_user(store, "john@example.com")
    group = create_group(store, group_input("Eng"), (), ACTOR)
    first = _patch(store, group.id, Add(jane))
    assert first.version == 2 and first.member_count == 1 and first.members is None
    again = _patch(store, group.id, Add(jane), Remove(john), Remove("no-such-user"))
    assert again.version == 2 and again.member_count == 1
    assert _member_ids(store, group.id) == {jane}
    with pytest.raises(InvalidInput) as caught:
        _patch(store, group.id, Add("no-such-user"))
    assert caught.value.attribute == "members"


def test_remove_then_add_back_in_one_request(store: Store) -> None:
    jane = new_user(store, "jane@example.com")
    group = create_group(store, group_input("Eng"), (jane,), ACTOR)
    after = _patch(store, group.id, Remove(jane), Add(jane))
    assert after.member_count == 1 and _member_ids(store, group.id) == {jane}


def test_replace_all_and_remove_all_apply_as_deltas(store: Store) -> None:
    a, b, c = bulk_users(store, 3)
    group = create_group(store, group_input("Eng"), (a, b), ACTOR)
    after = _patch(store, group.id, MembershipChange("replace_all", (b, c)))
    assert after.member_count == 2 and _member_ids(store, group.id) == {b, c}
    after = _patch(store, group.id, MembershipChange("remove_all"))
    assert after.member_count == 0 and _member_ids(store, group.id) == set()
    assert after.version == 3


def test_the_plan_sees_the_group_without_members(store: Store) -> None:
    jane = new_user(store, "jane@example.com")
    group = create_group(store, group_input("Eng"), (jane,), ACTOR)
    seen: list[GroupRecord] = []

    def plan(current: GroupRecord) -> Sequence[MembershipChange]:
        seen.append(current)
        return [MembershipChange("rename", value=current.display_name)]  # Okta's re-sent name

    after = change_group(store, group.id, plan, ACTOR)
    assert seen[0].members is None and seen[0].member_count == 1 and seen[0].id == group.id
    assert after.version == 1  # nothing changed: no new version


def test_a_failing_change_applies_nothing(store: Store) -> None:
    a, b, c = bulk_users(store, 3)
    create_group(store, group_input("Taken"), (), ACTOR)
    group = create_group(store, group_input("Eng", external_id="x"), (a,), ACTOR)
    failing_thirds = [
        Add("no-such-user"),
        MembershipChange("rename", value="TAKEN"),
        MembershipChange("rename", value=""),
        MembershipChange("document", value={"bad": float("inf")}),
        MembershipChange("explode"),
    ]
    for third in failing_thirds:
        with pytest.raises((InvalidInput, Conflict)):
            _patch(store, group.id, Add(b), Remove(a), third, Add(c))

    def exploding_plan(current: GroupRecord) -> Sequence[MembershipChange]:
        raise ValueError("invalid PATCH path")

    with pytest.raises(ValueError):
        change_group(store, group.id, exploding_plan, ACTOR)
    assert get_group(store, group.id) == group


def test_if_match_is_checked_with_the_write(store: Store) -> None:
    jane = new_user(store, "jane@example.com")
    group = create_group(store, group_input("Eng"), (), ACTOR)
    with pytest.raises(PreconditionFailed):
        _patch(store, group.id, Add(jane), if_match=5)
    with pytest.raises(PreconditionFailed):
        replace_group(store, group.id, group_input("X"), (jane,), ACTOR, if_match=2)
    with pytest.raises(PreconditionFailed):
        delete_group(store, group.id, ACTOR, if_match=0)
    assert get_group(store, group.id) == group
    assert _patch(store, group.id, Add(jane), if_match=1).version == 2


def test_attribute_changes(store: Store) -> None:
    create_group(store, group_input("Ops", external_id="taken"), (), ACTOR)
    group = create_group(store, group_input("Eng"), (), ACTOR)
    after = _patch(
        store,
        group.id,
        MembershipChange("rename", value="Engineering"),
        MembershipChange("external_id", value="entra-1"),
        MembershipChange("document", value={"displayName": "Engineering", "x": 1}),
    )
    assert (after.display_name, after.external_id, after.version) == ("Engineering", "entra-1", 2)
    assert after.document == {"displayName": "Engineering", "x": 1}
    shared = _patch(store, group.id, MembershipChange("external_id", value="taken"))
    assert shared.external_id == "taken"  # the client's value: another group may hold it too
    assert _patch(store, group.id, MembershipChange("external_id", value=None)).external_id is None
    filtered = list_groups(store, Compare("displayName", "eq", "ENGINEERING"), 1, 10, None, False)
    assert [g.id for g in filtered.items] == [group.id] and filtered.items[0].members is None


def test_membership_drives_mapped_roles(store: Store) -> None:
    mapped_role(store, "Engineering", "operator")
    jane, john = new_user(store, "jane@example.com"), new_user(store, "john@example.com")
    group = create_group(store, group_input("engineering"), (jane,), ACTOR)
    assert roles_of(store, jane) == {("operator", "idp")}
    _patch(store, group.id, Add(john), Remove(jane))
    assert roles_of(store, jane) == set() and roles_of(store, john) == {("operator", "idp")}
    _patch(store, group.id, MembershipChange("rename", value="Engineering (old)"))
    assert roles_of(store, john) == set()
    _patch(store, group.id, MembershipChange("rename", value="ENGINEERING"))
    assert roles_of(store, john) == {("operator", "idp")}
    delete_group(store, group.id, ACTOR)
    assert roles_of(store, john) == set()


def test_replace_group_sets_exactly_the_given_members(store: Store) -> None:
    a, b, c = bulk_users(store, 3)
    group = create_group(store, group_input("Eng"), (a, b), ACTOR)
    after = replace_group(store, group.id, group_input("Engineering"), (c, b), ACTOR)
    assert after.display_name == "Engineering" and after.version == 2
    assert {m.id for m in after.members or ()} == {b, c} and after.member_count == 2
    with pytest.raises(NotFound):
        replace_group(store, "no-such-group", group_input("X"), (), ACTOR)


def test_delete_group(store: Store) -> None:
    jane = new_user(store, "jane@example.com")
    group = create_group(store, group_input("Eng"), (jane,), ACTOR)
    delete_group(store, group.id, ACTOR)
    with pytest.raises(NotFound):
        get_group(store, group.id)
    with pytest.raises(NotFound):
        _patch(store, group.id, Add(jane))
    assert get_user(store, jane).groups == ()
    assert audit_actions(store, group.id) == ["group.created", "group.deleted"]
    create_group(store, group_input("Eng"), (), ACTOR)  # the name is free again


def test_list_groups_pages_with_members_in_one_query(store: Store) -> None:
    users = bulk_users(store, 6)
    for i in range(8):
        create_group(store, group_input(f"group-{i}"), tuple(users[: i % 4 + 1]), ACTOR)

    def statements(count: int) -> int:
        before = statement_count(store)
        page = list_groups(store, None, 1, count)
        assert page.total == 8 and len(page.items) == count
        assert all(len(g.members or ()) == g.member_count for g in page.items)
        return statement_count(store) - before

    assert statements(2) == statements(8)
    members = list_groups(store, Compare("members.value", "eq", users[3]), 1, 10)
    assert sorted(g.display_name for g in members.items) == ["group-3", "group-7"]


def _fill(store: Store, group_id: str, user_ids: list[str]) -> None:
    """Members written straight in (setup only: a large group without the wait)."""
    with db_session:
        group = store.db.Group[group_id]
        for user_id in user_ids:
            store.db.Membership(group=group, user=store.db.User[user_id], created=store.clock())
        group.member_count += len(user_ids)


@pytest.mark.parametrize("mapped", [False, True])
def test_one_member_added_costs_the_same_whatever_the_group_size(
    store: Store, mapped: bool
) -> None:
    if mapped:
        mapped_role(store, "small", "operator")
        mapped_role(store, "large", "operator")
    users = bulk_users(store, 1504)
    small = create_group(store, group_input("small"), tuple(users[:2]), ACTOR)
    large = create_group(store, group_input("large"), (), ACTOR)
    _fill(store, large.id, users[2:1502])  # more members than one locking query takes

    def cost(group: GroupRecord, change: MembershipChange) -> int:
        before = statement_count(store)
        # Okta re-sends the group's name with every membership change.
        _patch(store, group.id, MembershipChange("rename", value=group.display_name), change)
        return statement_count(store) - before

    assert cost(small, Add(users[1502])) == cost(large, Add(users[1503]))
    assert cost(small, Remove(users[1502])) == cost(large, Remove(users[1503]))
    assert get_group(store, large.id, include_members=False).member_count == 1500
