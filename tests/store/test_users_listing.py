"""Listing users: RFC 7644 paging, stable order, sorting, inactive users, no N+1 queries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from store.context import Store
from store.domain.criteria import Compare, Sort
from store.errors import InvalidInput
from store.queries.groups import get_group, list_groups
from store.queries.users import get_user, list_users
from store.services.groups import create_group
from store.services.users import create_user, replace_user
from tests.store.test_users_helpers import (
    ACTOR,
    group_input,
    new_user,
    statement_count,
    user_input,
)
from tests.support import FakeClock


def _users(store: Store, clock: FakeClock, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        clock.advance(1)
        ids.append(new_user(store, name))
    return ids


def test_pages_cover_every_user_once_in_creation_order(store: Store, clock: FakeClock) -> None:
    ids = _users(store, clock, [f"user{i}@example.com" for i in range(7)])
    seen = []
    for start in (1, 4, 7):
        page = list_users(store, None, start, 3)
        assert page.total == 7 and page.start_index == start
        seen += [u.id for u in page.items]
    assert seen == ids
    assert len(list_users(store, None, 7, 3).items) == 1


def test_paging_edges(store: Store, clock: FakeClock) -> None:
    _users(store, clock, ["a@example.com", "b@example.com", "c@example.com"])
    only_total = list_users(store, None, 1, 0)
    assert only_total.total == 3 and only_total.items == ()
    assert list_users(store, None, -5, 2).start_index == 1
    assert len(list_users(store, None, 0, 2).items) == 2
    assert list_users(store, None, 1, -1).items == ()
    past = list_users(store, None, 100, 10)
    assert past.total == 3 and past.items == ()
    assert list_users(store, None, 10**30, 10).items == ()


def test_users_created_at_the_same_instant_still_page_stably(store: Store) -> None:
    ids = {new_user(store, f"same{i}@example.com") for i in range(9)}
    seen = [u.id for start in (1, 4, 7) for u in list_users(store, None, start, 3).items]
    assert sorted(seen) == sorted(ids) and len(seen) == 9


def test_inactive_users_are_always_listed_and_filterable(store: Store, clock: FakeClock) -> None:
    active, inactive = _users(store, clock, ["on@example.com", "off@example.com"])
    replace_user(store, inactive, replace(user_input("off@example.com"), active=False), ACTOR)
    assert list_users(store, None, 1, 10).total == 2
    found = list_users(store, Compare("userName", "eq", "OFF@example.com"), 1, 10)
    assert [(u.id, u.active) for u in found.items] == [(inactive, False)]
    off = list_users(store, Compare("active", "eq", False), 1, 10)
    assert [u.id for u in off.items] == [inactive]


def test_sort_by_user_name_ignores_case_and_puts_missing_values_last(
    store: Store, clock: FakeClock
) -> None:
    names = ["bob@example.com", "Alice@example.com", "carol@example.com"]
    _users(store, clock, names)
    create_user(store, user_input("dave@example.com", display_name="Zed"), ACTOR)
    create_user(store, user_input("erin@example.com", display_name="amy"), ACTOR)
    up = list_users(store, None, 1, 10, Sort("userName"))
    assert [u.user_name[0] for u in up.items] == ["A", "b", "c", "d", "e"]
    down = list_users(store, None, 1, 10, Sort("userName", descending=True))
    assert [u.user_name[0] for u in down.items] == ["e", "d", "c", "b", "A"]
    by_display = list_users(store, None, 1, 10, Sort("displayName"))
    assert [u.display_name for u in by_display.items][:2] == ["amy", "Zed"]
    assert [u.display_name for u in by_display.items][2:] == [None, None, None]
    by_display_down = list_users(store, None, 1, 10, Sort("displayName", descending=True))
    assert [u.display_name for u in by_display_down.items][3:] == ["Zed", "amy"]
    with pytest.raises(InvalidInput):
        list_users(store, None, 1, 10, Sort("nickName"))


def test_a_page_loads_its_users_groups_in_one_query(store: Store, clock: FakeClock) -> None:
    ids = _users(store, clock, [f"member{i}@example.com" for i in range(12)])
    create_group(store, group_input("Engineering"), tuple(ids), ACTOR)
    create_group(store, group_input("Ops"), tuple(ids[::2]), ACTOR)

    def statements_for(count: int) -> int:
        before = statement_count(store)
        page = list_users(store, None, 1, count)
        assert len(page.items) == count
        assert all(u.groups for u in page.items)
        return statement_count(store) - before

    assert statements_for(2) == statements_for(12)
    page = list_users(store, None, 1, 2)
    assert [g.display_name for g in page.items[0].groups] == ["Engineering", "Ops"]
    assert [g.display_name for g in page.items[1].groups] == ["Engineering"]


def test_a_page_of_users_in_no_group_is_one_statement(store: Store, clock: FakeClock) -> None:
    ids = _users(store, clock, ["solo@example.com", "member@example.com", "other@example.com"])
    lookup = Compare("userName", "eq", "solo@example.com")

    before = statement_count(store)
    page = list_users(store, lookup, 1, 100)
    assert statement_count(store) - before == 1
    assert [(u.id, u.groups) for u in page.items] == [(ids[0], ())]

    create_group(store, group_input("Engineering"), (ids[1],), ACTOR)
    page = list_users(store, None, 1, 100)
    assert [[g.display_name for g in u.groups] for u in page.items] == [[], ["Engineering"], []]


def test_a_listed_user_is_the_same_record_as_a_fetched_one(store: Store, clock: FakeClock) -> None:
    user_id = new_user(store, "jane@example.com", external_id="ext-1", display_name="Jane")
    group = create_group(store, group_input("Engineering"), (user_id,), ACTOR)
    clock.advance(0.123456)
    replace_user(store, user_id, user_input("jane@example.com", display_name="J"), ACTOR)
    listed = list_users(store, None, 1, 10).items
    assert listed == (get_user(store, user_id),)
    assert listed[0].last_modified.microsecond == 123456
    assert list_groups(store, None, 1, 10).items == (get_group(store, group.id),)
    assert list_groups(store, None, 1, 10, None, False).items == (
        get_group(store, group.id, include_members=False),
    )
