"""Renames never carry a manual role to another person (SQLite and PostgreSQL). Control's
sign-in starts a session by userName, so a token holder who renames the account holding a
manual admin grant to someone else's userName would hand that person the grant. A userName
change therefore suspends the manual grants (kept on record, not effective) until an
operator confirms them, and is audited as ``user.renamed``."""

from __future__ import annotations

from typing import Any

import pytest

from store.context import Store
from store.queries.identity import user_detail
from store.services.roles import ensure_default_roles, grant_role, revoke_role
from store.services.sessions import check_session, start_session
from tests.api.conftest import PATCH_URN, Scim

OPERATOR = "operator:alice"


@pytest.fixture(autouse=True)
def _roles(api_store: Store) -> None:
    ensure_default_roles(api_store)


def _rename(scim: Scim, user_id: str, name: str) -> None:
    body: dict[str, Any] = {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "userName", "value": name}]}  # fmt: skip
    result = scim.patch(f"/Users/{user_id}", body)
    assert result.status_code == 200, result.text


def _sign_in_roles(store: Store, user_name: str) -> tuple[str, tuple[str, ...]]:
    """What Control's sign-in would give the person the IdP signs in as ``user_name``."""
    _record, cookie = start_session(store, user_name, "sso")
    check = check_session(store, cookie)
    assert check.valid, check.reason
    return check.user_id or "", check.roles


def test_swapping_usernames_does_not_hand_over_a_manual_admin(scim: Scim, api_store: Store) -> None:
    alice = scim.create_user("alice@example.com")["id"]
    mallory = scim.create_user("mallory@example.com")["id"]
    grant_role(api_store, "alice@example.com", "admin", OPERATOR)
    assert _sign_in_roles(api_store, "alice@example.com") == (alice, ("admin",))
    # A token holder swaps the two userNames.
    _rename(scim, alice, "swap@example.com")
    _rename(scim, mallory, "alice@example.com")
    _rename(scim, alice, "mallory@example.com")
    # Mallory signs in as herself and lands on the account that held the grant: no admin.
    account, roles = _sign_in_roles(api_store, "mallory@example.com")
    assert account == alice and "admin" not in roles
    account, roles = _sign_in_roles(api_store, "alice@example.com")
    assert account == mallory and "admin" not in roles
    detail = user_detail(api_store, alice, by_id=True)
    assert [(r.role, r.source) for r in detail.roles] == [("admin", "suspended")]
    renamed = [e for e in detail.audit if e.action == "user.renamed"]
    assert renamed[-1].before == {"userName": "alice@example.com"}
    assert renamed[-1].after == {
        "userName": "swap@example.com", "manual_roles": ["admin"], "suspended": ["admin"],
    }  # fmt: skip
    assert renamed[0].after["userName"] == "mallory@example.com"
    assert renamed[0].actor == "token:Okta SCIM"


def test_an_operator_confirms_or_revokes_a_suspended_grant(scim: Scim, api_store: Store) -> None:
    jane = scim.create_user("jane@example.com")["id"]
    grant_role(api_store, "jane@example.com", "admin", OPERATOR)
    grant_role(api_store, "jane@example.com", "viewer", OPERATOR)
    _rename(scim, jane, "jane.doe@example.com")
    assert _sign_in_roles(api_store, "jane.doe@example.com")[1] == ()
    assert grant_role(api_store, jane, "admin", OPERATOR, by_id=True)
    assert _sign_in_roles(api_store, "jane.doe@example.com")[1] == ("admin",)
    assert revoke_role(api_store, jane, "viewer", OPERATOR, by_id=True)
    detail = user_detail(api_store, jane, by_id=True)
    assert [(r.role, r.source) for r in detail.roles] == [("admin", "manual")]


def test_case_only_change_and_other_attributes_keep_manual_roles(
    scim: Scim, api_store: Store
) -> None:
    jane = scim.create_user("jane@example.com")["id"]
    grant_role(api_store, "jane@example.com", "admin", OPERATOR)
    _rename(scim, jane, "Jane@Example.com")  # the same name to sign in with
    body = {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Jane D."}]}  # fmt: skip
    assert scim.patch(f"/Users/{jane}", body).status_code == 200
    assert _sign_in_roles(api_store, "jane@example.com")[1] == ("admin",)
    assert not [
        e for e in user_detail(api_store, jane, by_id=True).audit if e.action == "user.renamed"
    ]


def test_put_rename_suspends_too(scim: Scim, api_store: Store) -> None:
    jane = scim.create_user("jane@example.com")["id"]
    grant_role(api_store, "jane@example.com", "operator", OPERATOR)
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "someone.else@example.com", "active": True}  # fmt: skip
    assert scim.put(f"/Users/{jane}", body).status_code == 200
    assert _sign_in_roles(api_store, "someone.else@example.com")[1] == ()
