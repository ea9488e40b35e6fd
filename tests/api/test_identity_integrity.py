"""Identity integrity through the real app and store: no POST takes over an existing user, a
missing ``active`` never grants access, and no request id is ever handed to another person."""

from __future__ import annotations

from typing import Any

import pytest

from store.context import Store
from store.errors import InvalidInput
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import start_session
from tests.api.conftest import GROUP_URN, USER_URN, Scim, assert_scim_error, patch_op
from tests.store.identity_factories import roles_of

OPERATOR = "operator:alice"


def _user(name: str, external_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER_URN], "userName": name, "active": True, **extra}
    if external_id is not None:
        body["externalId"] = external_id
    return body


def _group(name: str, *member_ids: str) -> dict[str, Any]:
    return {"schemas": [GROUP_URN], "displayName": name,
            "members": [{"value": m} for m in member_ids]}  # fmt: skip


def _deactivate(scim: Scim, user_id: str) -> None:
    off = scim.patch(f"/Users/{user_id}", patch_op({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.json["active"] is False, off.text


def _privileged(scim: Scim, store: Store, name: str) -> tuple[dict[str, Any], str]:
    """An Okta-made user holding a manual admin role and, through a mapped group, operator."""
    ensure_default_roles(store)
    user = scim.post("/Users", _user(name, "00uOLD", displayName="Old Owner")).json
    grant_role(store, name, "admin", OPERATOR)
    set_mapping(store, "Ops", "operator", OPERATOR)
    group = scim.create_group("Ops", [user["id"]])
    assert roles_of(store, user["id"]) == {("admin", "manual"), ("operator", "idp")}
    return user, group["id"]


def _by_name(scim: Scim, name: str) -> list[dict[str, Any]]:
    found = scim.get("/Users", params={"filter": f'userName eq "{name}"'})
    assert found.status_code == 200, found.text
    return list(found.json["Resources"])


# ---- 1. a POST never takes over an existing user -------------------------------------------


@pytest.mark.parametrize(
    "old_name, new_name",
    [("jane@example.com", "jane@example.com"), ("jane@example.com", "JANE@Example.com"),
     ("straße@example.com", "strasse@example.com"), ("bob@example.com", "ｂob@example.com")],
)  # fmt: skip
@pytest.mark.parametrize("inactive", [True, False])
def test_post_of_a_held_user_name_is_409_and_takes_nothing_over(
    scim: Scim, api_store: Store, old_name: str, new_name: str, inactive: bool
) -> None:
    old, group_id = _privileged(scim, api_store, old_name)
    if inactive:
        _deactivate(scim, old["id"])
    newcomer = _user(new_name, "00uNEWCOMER", displayName="Someone Else")
    body = assert_scim_error(scim.post("/Users", newcomer), 409, "uniqueness")
    for secret in (old["id"], "00uOLD", "Old Owner", old_name):
        if secret != new_name:
            assert secret not in body["detail"], body
    kept = scim.get(f"/Users/{old['id']}").json
    assert kept["userName"] == old_name and kept["externalId"] == "00uOLD"
    assert kept["active"] is (not inactive) and kept["displayName"] == "Old Owner"
    assert roles_of(api_store, old["id"]) >= {("admin", "manual")}
    assert scim.get("/Users").json["totalResults"] == 1
    assert [m["value"] for m in scim.get(f"/Groups/{group_id}").json["members"]] == [old["id"]]


def test_post_with_an_inactive_users_external_id_is_a_new_person(
    scim: Scim, api_store: Store
) -> None:
    """externalId is the client's and may be shared (RFC 7643 §3.1): it is no conflict, and
    it reaches nobody: the POST makes a new user with nothing of the old one."""
    old, group_id = _privileged(scim, api_store, "jane@example.com")
    _deactivate(scim, old["id"])
    before = scim.get(f"/Users/{old['id']}").json
    created = scim.post("/Users", _user("other@example.com", "00uOLD"))
    assert created.status_code == 201, created.text
    new = created.json
    assert new["id"] != old["id"] and new["externalId"] == "00uOLD" and "groups" not in new
    assert roles_of(api_store, new["id"]) == set()
    assert scim.get(f"/Users/{old['id']}").json == before
    assert [m["value"] for m in scim.get(f"/Groups/{group_id}").json["members"]] == [old["id"]]


def test_reactivation_is_filter_then_patch_of_the_found_id(scim: Scim, api_store: Store) -> None:
    old, _ = _privileged(scim, api_store, "jane@example.com")
    _deactivate(scim, old["id"])
    found = _by_name(scim, "JANE@example.com")  # IdPs look inactive users up by filter
    assert [u["id"] for u in found] == [old["id"]] and found[0]["active"] is False
    on = scim.patch(f"/Users/{old['id']}", patch_op({"op": "replace", "value": {"active": True}}))
    assert on.status_code == 200 and on.json["active"] is True
    assert roles_of(api_store, old["id"]) == {("admin", "manual"), ("operator", "idp")}


def test_a_deleted_users_name_posted_again_is_a_new_person(scim: Scim, api_store: Store) -> None:
    old, group_id = _privileged(scim, api_store, "jane@example.com")
    assert scim.delete(f"/Users/{old['id']}").status_code == 204
    again = scim.post("/Users", _user("jane@example.com", "00uOLD"))
    assert again.status_code == 201, again.text
    new = again.json
    assert new["id"] != old["id"] and new["active"] is True and "groups" not in new
    assert roles_of(api_store, new["id"]) == set()
    assert scim.get(f"/Groups/{group_id}").json.get("members", []) == []
    assert_scim_error(scim.get(f"/Users/{old['id']}"), 404)


# ---- 2. a missing active never grants access -----------------------------------------------


def _signed_in(scim: Scim, cookie: str) -> bool:
    result = scim.get("/auth/session", token=None, headers={"Cookie": f"control_session={cookie}"})
    assert result.status_code in (200, 401), result.text
    return result.status_code == 200


def _filtered(scim: Scim, expression: str) -> set[str]:
    found = scim.get("/Users", params={"filter": expression})
    assert found.status_code == 200, found.text
    return {u["id"] for u in found.json["Resources"]}


UNASSIGNING = [
    {"op": "remove", "path": "active"},
    {"op": "replace", "path": "active", "value": None},
    {"op": "add", "path": "active", "value": None},
    {"op": "replace", "value": {"active": None}},
    {"op": "Remove", "path": "ACTIVE"},
]


@pytest.mark.parametrize("op", UNASSIGNING)
def test_patch_unassigning_active_takes_access_away(
    scim: Scim, api_store: Store, op: dict[str, Any]
) -> None:
    user, _ = _privileged(scim, api_store, "jane@example.com")
    _, cookie = start_session(api_store, "jane@example.com", OPERATOR)
    assert _signed_in(scim, cookie)
    result = scim.patch(f"/Users/{user['id']}", patch_op(op))
    assert result.status_code == 200, result.text
    assert "active" not in result.json
    shown = scim.get(f"/Users/{user['id']}")
    assert "active" not in shown.json and shown.headers["etag"] != user["meta"]["version"]
    assert not _signed_in(scim, cookie)
    assert roles_of(api_store, user["id"]) == {("admin", "manual")}
    with pytest.raises(Exception, match="inactive"):
        start_session(api_store, "jane@example.com", OPERATOR)
    assert _filtered(scim, "active eq true") == set()
    assert _filtered(scim, "active eq false") == {user["id"]}


@pytest.mark.parametrize("op", UNASSIGNING)
def test_patch_unassigning_active_never_reactivates(
    scim: Scim, api_store: Store, op: dict[str, Any]
) -> None:
    user, _ = _privileged(scim, api_store, "jane@example.com")
    _deactivate(scim, user["id"])
    result = scim.patch(f"/Users/{user['id']}", patch_op(op))
    assert result.status_code == 200, result.text
    assert "active" not in result.json
    assert roles_of(api_store, user["id"]) == {("admin", "manual")}
    with pytest.raises(Exception, match="inactive"):
        start_session(api_store, "jane@example.com", OPERATOR)


def test_put_without_active_leaves_the_state_as_it_is(scim: Scim, api_store: Store) -> None:
    user, _ = _privileged(scim, api_store, "jane@example.com")
    _deactivate(scim, user["id"])
    profile = {"schemas": [USER_URN], "userName": "jane@example.com", "displayName": "Jane D"}
    put = scim.put(f"/Users/{user['id']}", profile)
    assert put.status_code == 200 and put.json["active"] is False, put.text
    assert put.json["displayName"] == "Jane D"
    assert roles_of(api_store, user["id"]) == {("admin", "manual")}
    put = scim.put(f"/Users/{user['id']}", dict(profile, active=None))
    assert put.status_code == 200 and put.json["active"] is False, put.text
    with pytest.raises(Exception, match="inactive"):
        start_session(api_store, "jane@example.com", OPERATOR)
    on = scim.put(f"/Users/{user['id']}", dict(profile, active=True))
    assert on.json["active"] is True
    assert scim.put(f"/Users/{user['id']}", profile).json["active"] is True


def test_unassigned_stays_unassigned_until_set(scim: Scim, api_store: Store) -> None:
    user, _ = _privileged(scim, api_store, "jane@example.com")
    path = f"/Users/{user['id']}"
    scim.patch(path, patch_op({"op": "remove", "path": "active"}))
    profile = {"schemas": [USER_URN], "userName": "jane@example.com"}
    assert "active" not in scim.put(path, profile).json  # PUT without active: as it is
    renamed = scim.patch(path, patch_op({"op": "replace", "path": "displayName", "value": "J"}))
    assert "active" not in renamed.json
    assert roles_of(api_store, user["id"]) == {("admin", "manual")}
    on = scim.patch(path, patch_op({"op": "replace", "path": "active", "value": True}))
    assert on.json["active"] is True
    assert roles_of(api_store, user["id"]) == {("admin", "manual"), ("operator", "idp")}
    _, cookie = start_session(api_store, "jane@example.com", OPERATOR)
    assert _signed_in(scim, cookie)


def test_post_without_active_creates_an_active_user(scim: Scim) -> None:
    created = scim.post("/Users", {"schemas": [USER_URN], "userName": "new@example.com"})
    assert created.status_code == 201 and created.json["active"] is True


# ---- 5. names that can deceive are refused -------------------------------------------------

DECEIVING = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202a", "\u202d",
    "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u180e", "\U000e0001", "\t", "\n", "\r",
    "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029",
]  # fmt: skip


@pytest.mark.parametrize("char", DECEIVING, ids=lambda c: f"U+{ord(c):04X}")
def test_user_names_with_invisible_or_control_characters_are_400(scim: Scim, char: str) -> None:
    bad = f"ja{char}ne@example.com"
    body = assert_scim_error(scim.post("/Users", _user(bad)), 400, "invalidValue")
    assert "userName" in body["detail"]
    body = assert_scim_error(
        scim.post("/Users", _user("jane@example.com", displayName=f"Jane{char}Doe")),
        400, "invalidValue",
    )  # fmt: skip
    assert "displayName" in body["detail"]
    jane = scim.create_user("jane@example.com")
    path = f"/Users/{jane['id']}"
    put = scim.put(path, {"schemas": [USER_URN], "userName": bad})
    assert "userName" in assert_scim_error(put, 400, "invalidValue")["detail"]
    patch = scim.patch(path, patch_op({"op": "replace", "path": "userName", "value": bad}))
    assert "userName" in assert_scim_error(patch, 400, "invalidValue")["detail"]
    patch = scim.patch(path, patch_op({"op": "replace", "value": {"displayName": f"J{char}"}}))
    assert "displayName" in assert_scim_error(patch, 400, "invalidValue")["detail"]
    assert scim.get(path).json["meta"]["version"] == jane["meta"]["version"]
    assert scim.get("/Users").json["totalResults"] == 1


@pytest.mark.parametrize("char", DECEIVING, ids=lambda c: f"U+{ord(c):04X}")
def test_group_names_with_invisible_or_control_characters_are_400(scim: Scim, char: str) -> None:
    bad = f"Ad{char}mins"
    post = scim.post("/Groups", _group(bad))
    assert "displayName" in assert_scim_error(post, 400, "invalidValue")["detail"]
    group = scim.create_group("Admins")
    path = f"/Groups/{group['id']}"
    put = scim.put(path, _group(bad))
    assert "displayName" in assert_scim_error(put, 400, "invalidValue")["detail"]
    for op in ({"op": "replace", "path": "displayName", "value": bad},
               {"op": "replace", "value": {"id": group["id"], "displayName": bad}}):  # fmt: skip
        patch = scim.patch(path, patch_op(op))
        assert "displayName" in assert_scim_error(patch, 400, "invalidValue")["detail"]
    assert scim.get(path).json["displayName"] == "Admins"


def test_ordinary_international_names_are_kept(scim: Scim) -> None:
    for name in ("Zoë O'Brien-Łukasz", "محمد@example.com", "山田 太郎", "José\u0301"):
        created = scim.post("/Users", _user(name, displayName=name))
        assert created.status_code == 201, (name, created.text)
        assert created.json["userName"] == name
    assert scim.post("/Groups", _group("Ingeniería (España)")).status_code == 201


# ---- 6. the group-to-role mapping matches on a conservative rule ---------------------------


@pytest.mark.parametrize(
    "mapped, pushed, matches",
    [("Admins", "ADMINS", True), ("admins", "Admins", True), ("Finance", "Finance ", True),
     ("Finance", " finance\t", True), ("Admins", "Ａdmins", False), ("Strasse", "Straße", False),
     ("Straße", "STRASSE", False), ("Straße", "STRAẞE", True), ("Café", "Cafe\u0301", True),
     ("ﬁnance", "finance", False)],
)  # fmt: skip
def test_mapping_matches_trimmed_nfc_case_insensitive_only(
    scim: Scim, api_store: Store, mapped: str, pushed: str, matches: bool
) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, mapped, "admin", OPERATOR)
    jane = scim.create_user("jane@example.com")
    pushed = pushed.replace("\t", " ")  # a tab is a control character: refused in a name
    group = scim.post("/Groups", _group(pushed, jane["id"]))
    assert group.status_code == 201, group.text
    expected = {("admin", "idp")} if matches else set()
    assert roles_of(api_store, jane["id"]) == expected


def test_a_rename_to_a_padded_mapped_name_grants_at_once(scim: Scim, api_store: Store) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, "Finance", "admin", OPERATOR)
    jane = scim.create_user("jane@example.com")
    group = scim.create_group("Accounts", [jane["id"]])
    assert roles_of(api_store, jane["id"]) == set()
    rename = {"op": "replace", "value": {"id": group["id"], "displayName": "Finance "}}
    assert scim.patch(f"/Groups/{group['id']}", patch_op(rename)).status_code == 204
    assert roles_of(api_store, jane["id"]) == {("admin", "idp")}
    assert scim.get(f"/Groups/{group['id']}").json["displayName"] == "Finance"


@pytest.mark.parametrize(
    "first, second, conflict",
    [("Admins", "ADMINS", True), ("Finance", "Finance ", True), ("Admins", "Ａdmins", False),
     ("Strasse", "Straße", False), ("Café", "Cafe\u0301", True)],
)  # fmt: skip
def test_group_name_uniqueness_follows_the_same_rule(
    scim: Scim, first: str, second: str, conflict: bool
) -> None:
    scim.create_group(first)
    result = scim.post("/Groups", _group(second))
    if conflict:
        assert_scim_error(result, 409, "uniqueness")
    else:
        assert result.status_code == 201, result.text
        found = scim.get("/Groups", params={"filter": f'displayName eq "{second}"'}).json
        assert [g["displayName"] for g in found["Resources"]] == [second]


@pytest.mark.parametrize("operator_sets", [True, False])
def test_an_operator_gives_an_unassigned_active_a_value(
    scim: Scim, api_store: Store, operator_sets: bool
) -> None:
    user, _ = _privileged(scim, api_store, "jane@example.com")
    path = f"/Users/{user['id']}"
    scim.patch(path, patch_op({"op": "remove", "path": "active"}))
    change = reactivate_user if operator_sets else deactivate_user
    assert change(api_store, user["id"], OPERATOR) is True
    assert scim.get(path).json["active"] is operator_sets
    flip = {"op": "replace", "path": "active", "value": not operator_sets}
    # After a reactivation the IdP deactivates; after a deactivation (an operator hold) the
    # IdP's true is recorded but cannot lift the hold: inactive either way.
    assert scim.patch(path, patch_op(flip)).json["active"] is False
    change(api_store, user["id"], OPERATOR)  # a value again: no unassigned mark lingers
    assert scim.get(path).json["active"] is operator_sets


def test_a_mapping_for_a_deceiving_group_name_is_refused(api_store: Store) -> None:
    ensure_default_roles(api_store)
    with pytest.raises(InvalidInput, match="U\\+200B"):
        set_mapping(api_store, "Ad\u200bmins", "admin", OPERATOR)
    assert set_mapping(api_store, "  Admins ", "admin", OPERATOR).group_name == "Admins"
