"""A second IdP connection (its own token) must not undo or alter what the first IdP decided
about the first IdP's users: it cannot find them, reactivate, rename, replace or delete them,
nor put them in its groups. Real app and store, both backends."""

from __future__ import annotations

import falcon
import pytest

from store.context import Store
from store.services.tokens import issue_token
from tests.api.conftest import GROUP_URN, USER_URN, Scim, assert_scim_error, patch_op


@pytest.fixture
def entra(app: falcon.App, api_store: Store) -> Scim:
    return Scim(app, issue_token(api_store, "Entra SCIM", "operator:test").secret)


def test_a_second_idp_cannot_reactivate_a_user_the_first_idp_deactivated(
    scim: Scim, entra: Scim
) -> None:
    okta_user = scim.create_user("leaver@example.com", externalId="00uLEAVER")
    off = patch_op({"op": "replace", "path": "active", "value": False})
    assert scim.patch(f"/Users/{okta_user['id']}", off).status_code == 200
    found = entra.get("/Users", params={"filter": 'userName eq "leaver@example.com"'})
    assert found.status_code == 200 and found.json["totalResults"] == 0
    on = patch_op({"op": "replace", "path": "active", "value": True})
    assert_scim_error(entra.patch(f"/Users/{okta_user['id']}", on), 404)
    assert scim.get(f"/Users/{okta_user['id']}").json["active"] is False


def test_a_second_idp_cannot_alter_replace_or_delete_the_first_idps_user(
    scim: Scim, entra: Scim
) -> None:
    user = scim.create_user("kept@example.com", displayName="Kept")
    path = f"/Users/{user['id']}"
    rename = patch_op({"op": "replace", "path": "userName", "value": "taken@example.com"})
    assert_scim_error(entra.patch(path, rename), 404)
    body = {"schemas": [USER_URN], "userName": "kept@example.com", "displayName": "Hijacked"}
    assert_scim_error(entra.put(path, body), 404)
    assert_scim_error(entra.delete(path), 404)
    assert_scim_error(entra.get(path), 404)
    after = scim.get(path).json
    assert (after["userName"], after["displayName"], after["meta"]["version"]) == (
        "kept@example.com", "Kept", user["meta"]["version"],
    )  # fmt: skip


def test_a_second_idp_cannot_take_the_first_idps_user_into_its_group_or_theirs(
    scim: Scim, entra: Scim
) -> None:
    user = scim.create_user("member@example.com")
    group = scim.create_group("Admins", [user["id"]])
    theirs = {"schemas": [GROUP_URN], "displayName": "Admins", "members": [{"value": user["id"]}]}
    assert_scim_error(entra.post("/Groups", theirs), 400, "invalidValue")
    own = entra.create_group("Admins")  # the name is free in Entra's connection
    add = patch_op({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    assert_scim_error(entra.patch(f"/Groups/{own['id']}", add), 400, "invalidValue")
    remove = patch_op({"op": "remove", "path": "members"})
    assert_scim_error(entra.patch(f"/Groups/{group['id']}", remove), 404)
    members = scim.get(f"/Groups/{group['id']}").json["members"]
    assert [m["value"] for m in members] == [user["id"]]
    assert [g["value"] for g in scim.get(f"/Users/{user['id']}").json["groups"]] == [group["id"]]
