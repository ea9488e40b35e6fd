"""Someone who should not have access trying to get it through sign-in and offboarding: a
sign-in name that is another user's id, an IdP's PUT whose deactivation names ``active`` by
its full URN, and a body that says ``active`` twice. Each must end with no session, no
access and nothing half-applied.

Real app (``falcon.testing``) over a real store, SQLite file and PostgreSQL."""

from __future__ import annotations

from typing import Any

import falcon
import pytest

from api.app import create_app
from store.context import Store
from store.errors import NotFound
from store.services.roles import ensure_default_roles, grant_role
from store.services.sessions import check_session, start_session
from store.services.tokens import issue_token
from tests.api.conftest import GROUP_URN, USER_URN, Scim, assert_scim_error, patch_op, roomy
from tests.store.identity_factories import roles_of

OPERATOR = "operator:test"
ACTIVE_URN = USER_URN + ":active"


@pytest.fixture
def api_store(store: Store) -> Store:
    ensure_default_roles(store)
    return roomy(store)


@pytest.fixture
def okta(api_store: Store) -> Scim:
    return Scim(create_app(api_store), issue_token(api_store, "Okta", OPERATOR).secret)


def _signed_in(store: Store, user_name: str) -> str:
    _, cookie = start_session(store, user_name, "sso")
    assert check_session(store, cookie).valid
    return cookie


# ---- sign-in: by userName only -------------------------------------------------------------


def test_a_sign_in_name_that_is_another_users_id_starts_no_session(
    okta: Scim, api_store: Store
) -> None:
    """Control's SSO sign-in starts a session for the name the IdP asserted. A person whose
    asserted name is a 32-hex string equal to an administrator's id (ids are in every SCIM
    answer and audit line) held no account; the sign-in gave them the administrator's."""
    admin = okta.create_user("admin@example.com")
    grant_role(api_store, "admin@example.com", "admin", OPERATOR)
    with pytest.raises(NotFound):
        start_session(api_store, admin["id"], "sso")
    with pytest.raises(NotFound):
        start_session(api_store, admin["id"].upper(), "sso")
    assert roles_of(api_store, admin["id"]) == {("admin", "manual")}


def test_a_deleted_impostor_of_an_id_gives_no_session_of_its_victim(
    okta: Scim, api_store: Store
) -> None:
    """The impostor named after the id existed once (the ambiguity check then refused), and
    was deleted: its name is free, and must not fall through to the victim's id."""
    admin = okta.create_user("admin@example.com")
    impostor = okta.create_user(admin["id"])
    assert okta.delete(f"/Users/{impostor['id']}").status_code == 204
    with pytest.raises(NotFound):
        start_session(api_store, admin["id"], "sso")


def test_the_sign_in_still_finds_a_user_by_any_spelling_of_its_name(
    okta: Scim, api_store: Store
) -> None:
    okta.create_user("Jane@Example.com")
    for spelling in ("jane@example.com", " JANE@EXAMPLE.COM ", "ｊane@example.com"):
        record, _ = start_session(api_store, spelling, "sso")
        assert record.user_name == "Jane@Example.com"


# ---- offboarding: a deactivation the body spells by its full URN ---------------------------


def _put(okta: Scim, user: dict[str, Any], **members: Any) -> falcon.testing.Result:
    body = {"schemas": [USER_URN], "userName": user["userName"], **members}
    return okta.put(f"/Users/{user['id']}", body)


@pytest.mark.parametrize("value", [False, "False", "false"])
def test_a_put_naming_active_by_its_urn_deactivates(
    okta: Scim, api_store: Store, value: Any
) -> None:
    """RFC 7644 §3.10: an attribute may be named by its schema URN. The PUT answered 200 and
    the user kept access (and its sessions): the IdP believed it had offboarded them."""
    jane = okta.create_user("jane@example.com")
    cookie = _signed_in(api_store, "jane@example.com")
    done = _put(okta, jane, **{ACTIVE_URN: value})
    assert done.status_code == 200, done.text
    assert done.json["active"] is False
    assert okta.get(f"/Users/{jane['id']}").json["active"] is False
    assert not check_session(api_store, cookie).valid


def test_a_post_naming_active_by_its_urn_creates_an_inactive_user(okta: Scim) -> None:
    body = {"schemas": [USER_URN], "userName": "new@example.com", ACTIVE_URN: False}
    made = okta.post("/Users", body)
    assert made.status_code == 201, made.text
    assert made.json["active"] is False


def test_other_core_attributes_are_read_by_their_urn_too(okta: Scim) -> None:
    body = {"schemas": [USER_URN], USER_URN + ":userName": "urn@example.com",
            USER_URN + ":displayName": "By URN"}  # fmt: skip
    made = okta.post("/Users", body)
    assert made.status_code == 201, made.text
    assert (made.json["userName"], made.json["displayName"]) == ("urn@example.com", "By URN")


@pytest.mark.parametrize(
    "members",
    [{"active": False, "Active": True}, {"Active": True, "active": False},
     {"active": False, ACTIVE_URN: True}, {ACTIVE_URN.upper(): True, "ACTIVE": "false"}],
)  # fmt: skip
def test_a_body_saying_active_twice_is_refused_and_changes_nothing(
    okta: Scim, api_store: Store, members: dict[str, Any]
) -> None:
    """Two members naming one attribute are ambiguous: whichever came last used to win, so
    the answer depended on key order. Refused (400), with the user and its session as they
    were."""
    jane = okta.create_user("jane@example.com")
    cookie = _signed_in(api_store, "jane@example.com")
    assert_scim_error(_put(okta, jane, **members), 400, "invalidSyntax")
    after = okta.get(f"/Users/{jane['id']}")
    assert after.json["active"] is True and after.headers["etag"] == 'W/"1"'
    assert check_session(api_store, cookie).valid
    refused = okta.post("/Users", {"schemas": [USER_URN], "userName": "x@example.com", **members})
    assert_scim_error(refused, 400, "invalidSyntax")


def test_a_patch_result_is_not_refused_for_how_the_patch_named_active(
    okta: Scim, api_store: Store
) -> None:
    """A no-path PATCH names ``active`` in any case or by its URN: the PATCH engine writes
    one canonical member, so the result is never ambiguous."""
    jane = okta.create_user("jane@example.com")
    cookie = _signed_in(api_store, "jane@example.com")
    off = okta.patch(
        f"/Users/{jane['id']}", patch_op({"op": "replace", "value": {ACTIVE_URN: "False"}})
    )
    assert off.status_code == 200 and off.json["active"] is False, off.text
    assert not check_session(api_store, cookie).valid


# ---- a rename: the session of the old name ends --------------------------------------------


@pytest.mark.parametrize(
    "rename",
    [lambda user: ("PATCH", patch_op({"op": "replace", "path": "userName", "value": "dana@x.com"})),
     lambda user: ("PATCH", patch_op({"op": "Replace", "value": {"userName": "dana@x.com"}})),
     lambda user: ("PUT", {"schemas": [USER_URN], "userName": "dana@x.com", "active": True})],
    ids=["patch-path", "patch-no-path", "put"],
)  # fmt: skip
def test_every_rename_ends_the_sessions_of_the_old_name(
    okta: Scim, api_store: Store, rename: Any
) -> None:
    """A leaked token renames Mallory, signed in, to an administrator's userName: her session must
    not go on answering Control's web tier under that name."""
    mallory = okta.create_user("mallory@x.com")
    cookie = _signed_in(api_store, "mallory@x.com")
    method, body = rename(mallory)
    done = okta.request(method, f"/Users/{mallory['id']}", body)
    assert done.status_code == 200 and done.json["userName"] == "dana@x.com", done.text
    check = check_session(api_store, cookie)
    assert not check.valid, check


def test_a_change_of_letter_case_or_width_is_no_rename_and_keeps_the_session(
    okta: Scim, api_store: Store
) -> None:
    jane = okta.create_user("jane@x.com")
    cookie = _signed_in(api_store, "jane@x.com")
    for spelling in ("Jane@X.com", "ｊane@x.com"):
        body = patch_op({"op": "replace", "path": "userName", "value": spelling})
        assert okta.patch(f"/Users/{jane['id']}", body).status_code == 200
        assert check_session(api_store, cookie).valid


def test_a_group_body_naming_an_attribute_twice_is_refused_and_its_urn_names_are_read(
    okta: Scim, api_store: Store
) -> None:
    jane = okta.create_user("jane@x.com")
    twice = {"schemas": [GROUP_URN], "displayName": "Staff", "DISPLAYNAME": "Admins"}
    assert_scim_error(okta.post("/Groups", twice), 400, "invalidSyntax")
    body = {"schemas": [GROUP_URN], GROUP_URN + ":displayName": "Staff",
            GROUP_URN + ":members": [{"value": jane["id"]}]}  # fmt: skip
    made = okta.post("/Groups", body)
    assert made.status_code == 201, made.text
    assert made.json["displayName"] == "Staff"
    assert [m["value"] for m in made.json["members"]] == [jane["id"]]


# ---- /auth/session: a cookie tossed in front of the victim's -------------------------------


def _session_check(store: Store, *cookies: str) -> falcon.testing.Result:
    client = falcon.testing.TestClient(create_app(store))
    header = "; ".join(f"control_session={c}" for c in cookies)
    return client.simulate_get("/auth/session", headers={"Cookie": header})


def test_live_sessions_of_two_users_in_one_request_sign_in_neither(
    okta: Scim, api_store: Store
) -> None:
    """A sibling site can set a cookie for Control's domain (cookie tossing): the attacker's
    own live session placed in front of the victim's made the victim's browser act as the
    attacker (what the victim then typed went to the attacker's account), or behind it,
    any order picked one person. Two people in one request is ambiguous: refused."""
    okta.create_user("victim@x.com")
    okta.create_user("mallory@x.com")
    victim = _signed_in(api_store, "victim@x.com")
    tossed = _signed_in(api_store, "mallory@x.com")
    for cookies in ((tossed, victim), (victim, tossed)):
        answer = _session_check(api_store, *cookies)
        assert answer.status_code == 401, answer.text
        assert "X-Auth-User" not in answer.headers
    assert _session_check(api_store, victim).status_code == 200


def test_two_live_sessions_of_one_user_or_junk_beside_one_still_sign_in(
    okta: Scim, api_store: Store
) -> None:
    okta.create_user("jane@x.com")
    first, second = _signed_in(api_store, "jane@x.com"), _signed_in(api_store, "jane@x.com")
    answer = _session_check(api_store, "junk", first, second)
    assert answer.status_code == 200 and answer.json["user"] == "jane@x.com", answer.text


@pytest.mark.parametrize(
    "operation",
    [{"op": "replace", "value": {"active": False, ACTIVE_URN: True}},
     {"op": "replace", "value": {"ACTIVE": "False", "active": "True"}},
     {"op": "replace", "path": "active", "value": False, "Value": True},
     {"op": "replace", "OP": "add", "path": "active", "value": True}],
)  # fmt: skip
def test_a_patch_naming_active_twice_is_refused_and_changes_nothing(
    okta: Scim, api_store: Store, operation: dict[str, Any]
) -> None:
    """In one no-path value, or in one operation's own members: the last one used to win."""
    jane = okta.create_user("jane@example.com")
    cookie = _signed_in(api_store, "jane@example.com")
    assert_scim_error(okta.patch(f"/Users/{jane['id']}", patch_op(operation)), 400, "invalidSyntax")
    after = okta.get(f"/Users/{jane['id']}")
    assert after.json["active"] is True and after.headers["etag"] == 'W/"1"'
    assert check_session(api_store, cookie).valid


def test_a_group_patch_naming_an_attribute_twice_is_refused(okta: Scim) -> None:
    group = okta.create_group("Staff")
    twice = patch_op(
        {"op": "replace", "value": {"displayName": "A", GROUP_URN + ":displayName": "B"}}
    )
    assert_scim_error(okta.patch(f"/Groups/{group['id']}", twice), 400, "invalidSyntax")
    assert okta.get(f"/Groups/{group['id']}").json["displayName"] == "Staff"
