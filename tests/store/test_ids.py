"""Ids that could never have been issued are unknown to every use case, never a driver error."""

from __future__ import annotations

import pytest

from store.context import Store
from store.domain.ids import is_resource_id
from store.errors import InvalidInput, NotFound
from store.queries.groups import get_group
from store.queries.users import get_user
from store.records import GroupInput, MembershipChange, UserInput
from store.services.groups import change_group, create_group
from store.services.lifecycle import deactivate_user
from store.services.users import create_user

IMPOSSIBLE = ["", "x" * 65, "abc\x00def", "line\nbreak", "\ud800"]


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_impossible_ids_are_unknown(store: Store, value: str) -> None:
    assert not is_resource_id(value)
    with pytest.raises(NotFound):
        get_user(store, value)
    with pytest.raises(NotFound):
        get_group(store, value)
    with pytest.raises(NotFound):
        deactivate_user(store, value, "operator:test")


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_impossible_member_ids_are_invalid_input(store: Store, value: str) -> None:
    user = create_user(store, UserInput(user_name="jane", document={}), "test")
    group = create_group(store, GroupInput(display_name="Eng", document={}), (), "test")
    with pytest.raises(InvalidInput):
        change_group(
            store, group.id, lambda _g: [MembershipChange("add", (user.id, value))], "test"
        )
    assert get_group(store, group.id).members == ()


def test_issued_ids_are_resource_ids(store: Store) -> None:
    user = create_user(store, UserInput(user_name="jane", document={}), "test")
    assert is_resource_id(user.id)


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_removing_an_impossible_member_id_is_a_no_op(store: Store, value: str) -> None:
    user = create_user(store, UserInput(user_name="jane", document={}), "test")
    group = create_group(store, GroupInput(display_name="Eng", document={}), (user.id,), "test")
    change_group(store, group.id, lambda _g: [MembershipChange("remove", (value,))], "test")
    assert [m.id for m in (get_group(store, group.id).members or ())] == [user.id]
