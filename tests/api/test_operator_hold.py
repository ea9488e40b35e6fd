"""An operator's deactivation sticks (SQLite and PostgreSQL): Okta's next profile PUT, a
PATCH or a POST with ``active: true`` is recorded and shown, but access stays off until an
operator reactivates. A deactivation by the IdP alone is lifted by the IdP as before."""

from __future__ import annotations

from typing import Any

import pytest

from store.context import Store
from store.errors import InvalidInput
from store.queries.identity import user_detail
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import ensure_default_roles, set_mapping
from store.services.sessions import start_session
from tests.api.conftest import PATCH_URN, USER_URN, Scim

OPERATOR = "operator:alice"
OKTA_PROFILE = {"schemas": [USER_URN], "userName": "jane@example.com",
                "name": {"givenName": "Jane", "familyName": "Doe"}, "active": True}  # fmt: skip
ACTIVATE: dict[str, Any] = {"schemas": [PATCH_URN], "Operations": [
    {"op": "replace", "value": {"active": True}}]}  # fmt: skip


@pytest.fixture(autouse=True)
def _roles(api_store: Store) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, "Engineering", "operator", OPERATOR)


def _jane(scim: Scim) -> str:
    jane = scim.create_user("jane@example.com")["id"]
    scim.create_group("Engineering", [jane])
    return jane


def _access(store: Store, user_id: str) -> tuple[bool, list[tuple[str, str]]]:
    detail = user_detail(store, user_id, by_id=True)
    return detail.user.active, [(r.role, r.source) for r in detail.roles]


def test_idp_updates_cannot_lift_an_operator_hold(scim: Scim, api_store: Store) -> None:
    jane = _jane(scim)
    assert deactivate_user(api_store, jane, OPERATOR, "laptop stolen")
    for send in (
        lambda: scim.put(f"/Users/{jane}", OKTA_PROFILE),
        lambda: scim.patch(f"/Users/{jane}", ACTIVATE),
    ):
        result = send()
        assert result.status_code == 200, result.text
        assert result.json["active"] is False
        assert _access(api_store, jane) == (False, [])
        with pytest.raises(InvalidInput):
            start_session(api_store, "jane@example.com", "sso")
    hold = user_detail(api_store, jane, by_id=True).hold
    assert hold is not None and hold.by == OPERATOR and hold.reason == "laptop stolen"
    assert hold.idp_active is True
    actions = [e.action for e in user_detail(api_store, jane, by_id=True, audit_limit=50).audit]
    assert actions.count("user.hold_kept") == 1 and "user.held" in actions
    assert scim.get(f"/Users/{jane}").json["active"] is False
    assert reactivate_user(api_store, jane, OPERATOR, "laptop found")
    assert _access(api_store, jane) == (True, [("operator", "idp")])
    assert user_detail(api_store, jane, by_id=True).hold is None
    start_session(api_store, "jane@example.com", "sso")


def test_the_idp_can_still_deactivate_and_the_hold_records_it(scim: Scim, api_store: Store) -> None:
    jane = _jane(scim)
    deactivate_user(api_store, jane, OPERATOR)
    deactivate = {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "active", "value": False}]}  # fmt: skip
    assert scim.patch(f"/Users/{jane}", deactivate).status_code == 200
    hold = user_detail(api_store, jane, by_id=True).hold
    assert hold is not None and hold.idp_active is False


def test_an_idp_deactivation_alone_is_lifted_by_the_idp(scim: Scim, api_store: Store) -> None:
    jane = _jane(scim)
    deactivate = {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "active", "value": False}]}  # fmt: skip
    assert scim.patch(f"/Users/{jane}", deactivate).status_code == 200
    assert _access(api_store, jane) == (False, [])
    assert scim.put(f"/Users/{jane}", OKTA_PROFILE).json["active"] is True
    assert _access(api_store, jane) == (True, [("operator", "idp")])
    assert user_detail(api_store, jane, by_id=True).hold is None


def test_an_operator_can_hold_a_user_the_idp_deactivated(scim: Scim, api_store: Store) -> None:
    jane = _jane(scim)
    deactivate = {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "active", "value": False}]}  # fmt: skip
    scim.patch(f"/Users/{jane}", deactivate)
    assert deactivate_user(api_store, jane, OPERATOR, "investigation")
    assert not deactivate_user(api_store, jane, OPERATOR, "again")  # already held
    scim.patch(f"/Users/{jane}", ACTIVATE)
    assert _access(api_store, jane) == (False, [])
