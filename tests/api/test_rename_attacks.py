"""Renames by a token holder (a leaked SCIM token, or a second IdP): a manual role an operator
granted to one person must not reach another person's sign-in, and a browser session must not
come to speak for another person's userName (a rename ends the user's sessions). Through the
real app and store, both backends."""

from __future__ import annotations

from store.context import Store
from store.services.roles import ensure_default_roles, grant_role
from store.services.sessions import check_session, start_session
from tests.api.conftest import Scim, patch_op

OPERATOR = "operator:alice"


def _rename(scim: Scim, user_id: str, user_name: str) -> None:
    done = scim.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "path": "userName", "value": user_name})
    )
    assert done.status_code == 200, done.text


def test_a_user_name_swap_does_not_hand_a_manual_role_to_another_sign_in(
    scim: Scim, api_store: Store
) -> None:
    ensure_default_roles(api_store)
    admin = scim.create_user("admin@example.com")
    mallory = scim.create_user("mallory@example.com")
    grant_role(api_store, "admin@example.com", "admin", OPERATOR)
    _rename(scim, admin["id"], "parked@example.com")
    _rename(scim, mallory["id"], "admin@example.com")
    _rename(scim, admin["id"], "mallory@example.com")
    # Control's SSO sign-in starts a session for the name the IdP asserted: Mallory's own.
    _, cookie = start_session(api_store, "mallory@example.com", "sso")
    check = check_session(api_store, cookie)
    assert "admin" not in check.roles, check


def test_a_session_does_not_come_to_speak_for_another_user_name(
    scim: Scim, api_store: Store
) -> None:
    mallory = scim.create_user("mallory@example.com")
    _, cookie = start_session(api_store, "mallory@example.com", "sso")
    _rename(scim, mallory["id"], "dana@example.com")
    check = check_session(api_store, cookie)
    assert not (check.valid and check.user_name == "dana@example.com"), check
