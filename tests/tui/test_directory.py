"""``store.queries.directory.search_users``: the operators' paged user list, on SQLite and
PostgreSQL (the TUI's own tests run on SQLite only)."""

from __future__ import annotations

import pytest
from pony.orm import db_session

from store.context import Store
from store.errors import InvalidInput
from store.queries.directory import MAX_PAGE, search_users
from store.records import EmailInput, RoleSource, UserInput
from store.services.lifecycle import deactivate_user
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.users import create_user
from tests.support import FakeClock
from tests.tui.data import add_member, make_group, make_user


@pytest.fixture
def people(store: Store) -> dict[str, str]:
    ensure_default_roles(store)
    ids = {
        name: make_user(store, name, display)
        for name, display in [
            ("alice@example.com", "Alice Adams"),
            ("Bob_1@example.com", "Bob 100%"),
            ("straße@example.com", "Karl Straße"),
            ("zed@example.com", "Zed Zulu"),
        ]
    }
    set_mapping(store, "Engineering Admins", "admin", "operator:t")
    group = make_group(store, "ENGINEERING ADMINS", [ids["alice@example.com"]])
    add_member(store, group, ids["zed@example.com"])
    grant_role(store, "alice@example.com", "viewer", "operator:t")
    deactivate_user(store, ids["zed@example.com"], "operator:t", "test")
    return ids


def _names(store: Store, text: str = "", **kw: object) -> list[str]:
    return [u.user_name for u in search_users(store, text, **kw).items]  # type: ignore[arg-type]


def test_lists_every_live_user_in_username_order_with_total(
    store: Store, people: dict[str, str]
) -> None:
    page = search_users(store, "", 0, 10)
    assert [u.user_name for u in page.items] == [
        "alice@example.com", "Bob_1@example.com", "straße@example.com", "zed@example.com",
    ]  # fmt: skip
    assert (page.total, page.start_index) == (4, 1)
    alice = page.items[0]
    assert alice.display_name == "Alice Adams" and alice.active
    assert alice.roles == (
        RoleSource("admin", "idp", "Engineering Admins"),  # named as mapped, not as pushed
        RoleSource("viewer", "manual", None),
    )
    assert alice.last_modified.tzinfo is not None


def test_pages_with_offset_and_limit(store: Store, people: dict[str, str]) -> None:
    page = search_users(store, "", 1, 2)
    assert [u.user_name for u in page.items] == ["Bob_1@example.com", "straße@example.com"]
    assert (page.total, page.start_index) == (4, 2)
    assert search_users(store, "", 10, 2).items == ()
    assert len(search_users(store, "", -5, 10**9).items) == 4  # clamped, never unbounded


def test_search_is_case_and_unicode_insensitive_on_name_and_display_name(
    store: Store, people: dict[str, str]
) -> None:
    assert _names(store, "ALICE") == ["alice@example.com"]
    assert _names(store, "adams") == ["alice@example.com"]
    assert _names(store, "STRASSE") == ["straße@example.com"]
    assert _names(store, "  zulu ") == ["zed@example.com"]
    assert search_users(store, "example", 0, 2).total == 4


def test_like_wildcards_in_search_text_are_literal(store: Store, people: dict[str, str]) -> None:
    assert _names(store, "_") == ["Bob_1@example.com"]
    assert _names(store, "%") == ["Bob_1@example.com"]
    assert _names(store, "b_1") == ["Bob_1@example.com"]
    assert _names(store, "a%e") == []
    assert _names(store, "' OR 1=1 --") == []
    assert _names(store, "$(open('/tmp/x','w'))") == []


def test_status_filter(store: Store, people: dict[str, str]) -> None:
    assert _names(store, status="inactive") == ["zed@example.com"]
    assert "zed@example.com" not in _names(store, status="active")
    inactive = search_users(store, "zed", status="inactive").items[0]
    assert inactive.roles == ()  # deactivation dropped the IdP role
    with pytest.raises(InvalidInput):
        search_users(store, "", status="deleted")


def test_deleted_users_are_not_listed(
    store: Store, people: dict[str, str], clock: FakeClock
) -> None:
    with db_session:
        user = store.db.User[people["alice@example.com"]]
        user.deleted_at, user.user_name_key = clock(), None
    assert "alice@example.com" not in _names(store)
    assert search_users(store).total == 3


def test_page_size_is_capped(store: Store) -> None:
    assert MAX_PAGE == 500
    assert search_users(store, "", 0, 0).items == ()


def _with_email_and_external_id(store: Store) -> str:
    data = UserInput(
        user_name="jdoe",
        document={"userName": "jdoe"},
        external_id="00u1abcdEXT",
        display_name="Jane Doe",
        emails=(EmailInput(value="Jane.Doe@Corp.Example", type="work", primary=True),),
    )
    record = create_user(store, data, "token:Okta SCIM")
    return record.id


def test_finds_a_user_by_email_external_id_or_id(store: Store, people: dict[str, str]) -> None:
    user_id = _with_email_and_external_id(store)
    assert _names(store, "jane.doe@corp") == ["jdoe"]  # part of an e-mail, any case
    assert _names(store, "00u1abcdEXT") == ["jdoe"]  # externalId, exactly
    assert _names(store, "00u1abcd") == []  # not a part of it
    assert _names(store, user_id) == ["jdoe"]  # SCIM id
    assert _names(store, people["alice@example.com"]) == ["alice@example.com"]


def test_lists_users_by_role_and_by_group(store: Store, people: dict[str, str]) -> None:
    assert _names(store, role="viewer") == ["alice@example.com"]
    assert _names(store, role="admin") == ["alice@example.com"]  # IdP role; zed is inactive
    assert _names(store, group="engineering admins") == ["alice@example.com", "zed@example.com"]
    assert _names(store, "zed", group="Engineering Admins") == ["zed@example.com"]
    assert _names(store, group="Engineering Admins", role="viewer") == ["alice@example.com"]
    assert _names(store, role="no such role") == []
    assert _names(store, group="x' OR '1'='1") == []  # a value, never SQL
