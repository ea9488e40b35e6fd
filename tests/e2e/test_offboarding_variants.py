"""The other ways a user leaves (or half-leaves) Control, against the real server on SQLite and
PostgreSQL: Okta's full-replace PUT, re-assigning an inactive user (lookup, then reactivation
by id), Entra's unassign and hard delete, JumpCloud's removal from the user's last managed
group, DELETE of a signed-in user, an operator removing a role from a whole group through the
mapping, and a pushed group renamed or unlinked.

The rules asserted come from the product guide: deactivation (SCIM ``active=false`` or
removal from the app) ends sessions and drops IdP roles; leaving an IdP group only updates
the roles that group gave ("Their TridentStack Control role updates automatically"), it does
not sign the user out; manual roles are always preserved."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e import offboarding_support
from tests.e2e.conftest import LiveServer, error_of
from tests.e2e.offboarding_support import (
    ENTRA,
    JUMPCLOUD,
    MAPPED_OPERATOR,
    OKTA,
    PATCH,
    VIEWER_MANUAL,
    Dialect,
    Idp,
    Operator,
    events,
    roles_of,
    signed_in,
    signed_out,
)

idp, operator = offboarding_support.idp, offboarding_support.operator  # fixtures


def _onboard(provider: Idp, operator: Operator, name: str, external_id: str) -> tuple[str, str]:
    """A user in the mapped group Engineering with a manual viewer grant; (id, group id)."""
    operator.map("Engineering", "operator")
    user = provider.create_user(name, external_id)
    group_id = provider.push_group("Engineering", user["id"])
    operator.grant(name, "viewer")
    return str(user["id"]), group_id


def test_okta_full_replace_put(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    """Apps made with Okta's wizard send everything, deactivation too, as a full PUT."""
    okta = idp(OKTA)
    name = "put.user@example.com"
    user_id, group_id = _onboard(okta, operator, name, "00uPUT")
    cookie = operator.start_session(name)
    assert signed_in(live, cookie, name) == ["operator", "viewer"]
    profile = dict(OKTA.user(name, "00uPUT"), id=user_id)

    off = okta.http.put(f"/Users/{user_id}", dict(profile, active=False))
    assert off.status == 200 and off.json["active"] is False, off.raw
    signed_out(live, cookie)
    shown = operator.show(name)
    assert roles_of(shown) == {VIEWER_MANUAL} and shown["active_sessions"] == 0
    assert okta.members(group_id) == {user_id}
    assert events(shown, "user.deactivated")[0]["actor"] == "token:Okta SCIM"

    on = okta.http.put(f"/Users/{user_id}", dict(profile, active=True))
    assert on.status == 200 and on.json["active"] is True, on.raw
    assert roles_of(operator.show(name)) == {MAPPED_OPERATOR, VIEWER_MANUAL}
    signed_out(live, cookie)
    assert signed_in(live, operator.start_session(name), name) == ["operator", "viewer"]


def test_reassigning_an_inactive_user_is_lookup_then_reactivation_by_id(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    """Okta re-assigning a deactivated user looks it up by filter and reactivates the id it
    finds; a POST of the same userName (in any spelling) is 409 and changes nothing."""
    okta = idp(OKTA)
    name = "again@example.com"
    user_id, group_id = _onboard(okta, operator, name, "00uAGAIN")
    cookie = operator.start_session(name)
    okta.set_active(user_id, False)
    signed_out(live, cookie)

    for body in (dict(OKTA.user(name, "00uAGAIN"), active=False), OKTA.user(name.upper(), "00uX")):
        error_of(okta.http.post("/Users", body), 409, "uniqueness")
    assert roles_of(operator.show(name)) == {VIEWER_MANUAL}
    assert not events(operator.show(name), "user.reactivated")

    found = okta.find(name.upper())
    assert [u["id"] for u in found] == [user_id] and found[0]["active"] is False
    okta.set_active(user_id, True)
    shown = operator.show(user_id)
    assert roles_of(shown) == {MAPPED_OPERATOR, VIEWER_MANUAL}
    assert events(shown, "user.reactivated")
    assert okta.members(group_id) == {user_id}
    signed_out(live, cookie)
    assert signed_in(live, operator.start_session(name), name) == ["operator", "viewer"]
    error_of(okta.http.post("/Users", OKTA.user(name, "00uAGAIN")), 409, "uniqueness")


def test_entra_unassign_then_hard_delete(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    """Entra: unassigning the user from the app is a PATCH active "False"; the hard delete
    follows 30 days later. History stays readable after both."""
    entra = idp(ENTRA)
    name = "leaver@contoso.com"
    user_id, group_id = _onboard(entra, operator, name, "7b0c5f0e-unassign")
    cookie = operator.start_session(name)
    assert signed_in(live, cookie, name) == ["operator", "viewer"]

    entra.set_active(user_id, False)  # unassigned (or out of scope, soft-deleted, blocked)
    signed_out(live, cookie)
    assert roles_of(operator.show(name)) == {VIEWER_MANUAL}
    assert entra.members(group_id) == {user_id}
    [inactive] = entra.find(name)
    assert inactive["id"] == user_id and inactive["active"] is False

    assert entra.http.delete(f"/Users/{user_id}").status == 204
    _assert_gone(entra, user_id, group_id, name, "7b0c5f0e-unassign")
    signed_out(live, cookie)
    shown = operator.show(user_id)
    assert shown["deleted"] is True and shown["active"] is False
    assert shown["groups"] == [] and shown["active_sessions"] == 0
    assert roles_of(shown) == {VIEWER_MANUAL}
    actions = [e["action"] for e in shown["audit"]]
    assert {"user.created", "role.granted", "session.started", "user.deactivated",
            "user.deleted"} <= set(actions)  # fmt: skip
    assert events(shown, "user.deleted")[0]["actor"] == "token:Entra SCIM"


def _assert_gone(provider: Idp, user_id: str, group_id: str, name: str, ext: str) -> None:
    http = provider.http
    error_of(http.get(f"/Users/{user_id}"), 404)
    error_of(http.patch(f"/Users/{user_id}", provider.dialect.active(True)), 404)
    assert provider.find(name) == []
    by_ext = http.get("/Users", params={"filter": f'externalId eq "{ext}"'})
    assert by_ext.status == 200 and by_ext.json["totalResults"] == 0
    assert user_id not in provider.members(group_id)
    by_member = http.get("/Groups", params={"filter": f'members.value eq "{user_id}"'})
    assert by_member.json["totalResults"] == 0


def test_jumpcloud_delete_of_a_signed_in_user(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    jc = idp(JUMPCLOUD)
    name = "deleted@example.com"
    user_id, group_id = _onboard(jc, operator, name, "jc-deleted")
    cookie = operator.start_session(name)
    assert signed_in(live, cookie, name) == ["operator", "viewer"]

    assert jc.http.delete(f"/Users/{user_id}").status == 204
    assert signed_out(live, cookie)["error"] == "session ended"
    _assert_gone(jc, user_id, group_id, name, "jc-deleted")
    shown = operator.show(user_id)
    assert shown["deleted"] is True and roles_of(shown) == {VIEWER_MANUAL}
    assert "1 session(s) ended" in events(shown, "user.deactivated")[0]["detail"]
    assert events(shown, "user.deleted")[0]["actor"] == "token:JumpCloud SCIM"
    assert "not found" in operator.run("session", "start", name, expect=2)


def test_jumpcloud_removal_from_last_managed_group(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    """Leaving a group takes only that group's roles; the session stays, with fewer roles.
    Once no managed group covers the user, JumpCloud deactivates them: then they are out."""
    jc = idp(JUMPCLOUD)
    name = "mover@example.com"
    user_id, eng = _onboard(jc, operator, name, "jc-mover")
    operator.map("Oncall", "admin")
    oncall = jc.push_group("Oncall", user_id)
    cookie = operator.start_session(name)
    assert signed_in(live, cookie, name) == ["admin", "operator", "viewer"]

    jc.remove(eng, "Engineering", user_id)
    assert signed_in(live, cookie, name) == ["admin", "viewer"]
    jc.remove(oncall, "Oncall", user_id)  # the last managed group
    assert signed_in(live, cookie, name) == ["viewer"]  # still signed in: only roles changed
    shown = operator.show(name)
    assert shown["active"] is True and shown["groups"] == [] and shown["active_sessions"] == 1
    assert roles_of(shown) == {VIEWER_MANUAL}
    assert not events(shown, "user.deactivated")

    jc.set_active(user_id, False)  # no managed group covers the user any more
    signed_out(live, cookie)
    assert roles_of(operator.show(name)) == {VIEWER_MANUAL}
    jc.add(eng, "Engineering", user_id)  # an add while inactive grants nothing
    assert roles_of(operator.show(name)) == {VIEWER_MANUAL}
    jc.set_active(user_id, True)
    assert roles_of(operator.show(name)) == {MAPPED_OPERATOR, VIEWER_MANUAL}
    assert signed_in(live, operator.start_session(name), name) == ["operator", "viewer"]


def test_mapping_change_removes_a_role_from_a_whole_group(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    """``mapping remove Engineering operator``: every member loses the IdP role at once;
    manual grants (even of the same role) stay; sessions stay valid with the new roles."""
    okta = idp(OKTA)
    operator.map("Engineering", "operator")
    operator.map("Oncall", "admin")
    names = ["ann@example.com", "bob@example.com", "cid@example.com"]
    ids = [okta.create_user(n, f"00u{i}")["id"] for i, n in enumerate(names)]
    eng = okta.push_group("Engineering", ids[0])
    for user_id in ids[1:]:
        okta.add(eng, "Engineering", user_id)
    okta.push_group("Oncall", ids[2])
    operator.grant(names[0], "viewer")
    operator.grant(names[1], "operator")  # also given by the group: the manual row is its own
    cookies = [operator.start_session(n) for n in names]
    before = [signed_in(live, c, n) for c, n in zip(cookies, names, strict=True)]
    assert before == [["operator", "viewer"], ["operator"], ["admin", "operator"]]

    operator.unmap("ENGINEERING", "operator")
    after = [signed_in(live, c, n) for c, n in zip(cookies, names, strict=True)]
    assert after == [["viewer"], ["operator"], ["admin"]]
    assert roles_of(operator.show(names[0])) == {VIEWER_MANUAL}
    assert roles_of(operator.show(names[1])) == {("operator", "manual", None)}
    assert roles_of(operator.show(names[2])) == {("admin", "idp", "Oncall")}
    assert okta.members(eng) == set(ids)  # memberships untouched
    for name in names:
        assert operator.show(name)["active"] is True

    operator.map("engineering", "operator")
    again = [signed_in(live, c, n) for c, n in zip(cookies, names, strict=True)]
    assert again == before


def test_okta_group_rename_and_unlink_update_roles(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    """A pushed group renamed away from its mapped name, or unlinked (DELETE), takes its
    role from every member; the users stay active and signed in, manual roles stay."""
    okta = idp(OKTA)
    name = "renamed@example.com"
    user_id, group_id = _onboard(okta, operator, name, "00uRENAME")
    cookie = operator.start_session(name)
    assert signed_in(live, cookie, name) == ["operator", "viewer"]
    rename = {"op": "replace", "value": {"id": group_id, "displayName": "Eng"}}

    reply = okta.http.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [rename]})
    assert reply.status == 204, reply.raw
    assert signed_in(live, cookie, name) == ["viewer"]
    okta.add(group_id, "Engineering", user_id)  # Okta re-sends the name with each update
    assert signed_in(live, cookie, name) == ["operator", "viewer"]

    assert okta.http.delete(f"/Groups/{group_id}").status == 204  # unlinked in Okta
    assert signed_in(live, cookie, name) == ["viewer"]
    shown = operator.show(name)
    assert shown["active"] is True and shown["groups"] == []
    assert roles_of(shown) == {VIEWER_MANUAL}
