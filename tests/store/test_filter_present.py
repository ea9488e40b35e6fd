"""``pr`` in SQL (both backends): an empty string is no value (RFC 7644 §3.4.2.2), and an
IdP can store one (``displayName: ""``, ``externalId: ""``)."""

from __future__ import annotations

import pytest

from store.context import Store
from store.domain.criteria import Compare, Criteria, FilterError, Not, Present, check
from store.queries.groups import list_groups
from store.queries.users import list_users
from store.records import EmailInput
from store.services.groups import create_group
from store.services.users import create_user
from tests.store.test_users_helpers import ACTOR, group_input, user_input

USER_TEXT = ["displayName", "externalId", "name.givenName", "name.familyName", "emails"]


def _users(store: Store, criteria: Criteria) -> set[str]:
    return {u.user_name for u in list_users(store, check(criteria, "User"), 1, 100).items}


@pytest.fixture
def three(store: Store) -> Store:
    """One user with every text attribute set, one with each set to "", one without."""
    full = dict(display_name="Jane", external_id="e1", given_name="J", family_name="D")
    create_user(store, user_input("full", emails=(EmailInput("j@x.example"),), **full), ACTOR)
    empty = dict(display_name="", external_id="", given_name="", family_name="")
    create_user(store, user_input("empty", emails=(EmailInput(""),), **empty), ACTOR)
    create_user(store, user_input("absent", emails=()), ACTOR)
    return store


@pytest.mark.parametrize("attribute", USER_TEXT)
def test_pr_is_false_for_an_empty_string(three: Store, attribute: str) -> None:
    assert _users(three, Present(attribute)) == {"full"}
    assert _users(three, Not(Present(attribute))) == {"empty", "absent"}
    with pytest.raises(FilterError, match="use 'pr'"):  # as the SCIM parser says
        check(Compare(attribute, "eq", None), "User")


def test_group_pr_is_false_for_an_empty_external_id(store: Store) -> None:
    create_group(store, group_input("Set", external_id="g1"), (), ACTOR)
    create_group(store, group_input("Empty", external_id=""), (), ACTOR)
    create_group(store, group_input("Absent"), (), ACTOR)
    found = {g.display_name for g in list_groups(store, Present("externalId"), 1, 100).items}
    assert found == {"Set"}


def test_a_filter_value_compares_through_the_trimmed_key(store: Store) -> None:
    """Stored keys are trimmed, and so is the filter value: ``eq " Jane "`` finds "Jane"."""
    create_user(store, user_input("jane", display_name="Jane", emails=()), ACTOR)
    create_user(store, user_input("blank", display_name=" ", emails=()), ACTOR)
    assert _users(store, Compare("displayName", "eq", " JANE ")) == {"jane"}
    assert _users(store, Compare("userName", "eq", " Jane")) == {"jane"}
    assert _users(store, Present("displayName")) == {"jane"}
