"""The hot SCIM writes (create, PATCH ``active``, single-member add) carried out with bound
statements leave exactly the rows they always did: the same audit events with the same
before and after, the same email rows, memberships and counters, sessions ended and IdP roles
recomputed on deactivation. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain import causes
from store.domain.scope import Scope
from store.errors import InvalidInput, NotFound, PreconditionFailed
from store.queries.groups import get_group
from store.queries.identity import audit_events, user_detail
from store.queries.users import get_user
from store.records import GroupInput, MembershipChange, UserInput, UserRecord
from store.services.connections import create_connection
from store.services.groups import change_group, create_group
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import check_session, start_session
from store.services.users import create_user, modify_user
from tests.support import FakeClock, aware

OKTA = "token:Okta SCIM"
ADMIN = "operator:alice"
EMAIL = "urn:ietf:params:scim:schemas:core:2.0:User"


def okta_input(name: str, email: str | None = None) -> UserInput:
    from store.records import EmailInput

    document = {"schemas": [EMAIL], "userName": name, "active": True,
                "emails": [{"value": email or name, "type": "work", "primary": True}]}  # fmt: skip
    return UserInput(name, document, external_id="00u" + name[:4], display_name=name.title(),
                     active=True, emails=(EmailInput(email or name, "work", True),))  # fmt: skip


def with_changes(active: bool, email: str | None = None):  # noqa: ANN201 - a transform
    def transform(record: UserRecord) -> UserInput:
        data = okta_input(record.user_name, email)
        document = {**record.document, "active": active}
        if email is not None:
            document["emails"] = [{"value": email, "type": "work", "primary": True}]
        return UserInput(record.user_name, document, external_id=record.external_id,
                         display_name=record.display_name, active=active,
                         emails=data.emails)  # fmt: skip

    return transform


def events(store: Store, target_id: str) -> list[tuple[Any, ...]]:
    """Every audit event of one target, oldest first, without its id and time."""
    found = audit_events(store, None, target_id, limit=100)
    return [(e.actor, e.action, e.target_type, e.target_name, e.before, e.after, e.detail)
            for e in reversed(found)]  # fmt: skip


def email_rows(store: Store, user_id: str) -> list[tuple[Any, ...]]:
    with db_session:
        rows = store.db.select('SELECT "value", "value_key", "type", "primary" FROM '
                               '"scim_user_email" WHERE "user" = $user_id')  # fmt: skip
    return sorted((v, k, t, bool(p)) for v, k, t, p in rows)


def test_create_writes_the_user_its_emails_and_one_audit_event(store: Store) -> None:
    record = create_user(store, okta_input("Ann@Example.com"), OKTA)
    assert email_rows(store, record.id) == [("Ann@Example.com", "ann@example.com", "work", True)]
    assert events(store, record.id) == [(
        OKTA, "user.created", "user", "Ann@Example.com", None,
        {"userName": "Ann@Example.com", "externalId": "00uAnn@", "displayName": "Ann@Example.Com",
         "active": True},
        "",
    )]  # fmt: skip
    assert get_user(store, record.id).version == 1


def test_patch_active_ends_sessions_drops_idp_roles_and_audits_as_before(store: Store) -> None:
    ensure_default_roles(store)
    user = create_user(store, okta_input("jane@example.com"), OKTA)
    set_mapping(store, "Engineering", "operator", ADMIN)
    group = create_group(store, GroupInput("Engineering", {}), (user.id,), OKTA)
    grant_role(store, "jane@example.com", "viewer", ADMIN)
    _, cookie = start_session(store, "jane@example.com", ADMIN)
    before = len(events(store, user.id))
    after = modify_user(store, user.id, with_changes(False), OKTA)
    assert after.active is False and after.version == 2
    assert [g.id for g in after.groups] == [group.id]  # memberships are kept
    assert check_session(store, cookie).reason == "ended"
    held = [(r.role, r.source) for r in user_detail(store, user.id).roles]
    assert held == [("viewer", "manual")]
    new = events(store, user.id)[before:]
    assert [e[1] for e in new] == ["roles.recomputed", "user.deactivated"]
    recomputed = new[0]
    assert recomputed[4] == {"roles": ["operator"]}
    mapping_id = recomputed[5]["removed"][0]["mapping_id"]
    assert isinstance(mapping_id, int) and recomputed[5] == {
        "roles": [], "cause": {"cause": "deactivation", "reason": "modified"}, "added": [],
        "removed": [{"role": "operator", "group_key": "engineering", "mapping_id": mapping_id}],
    }  # fmt: skip
    assert recomputed[6] == "+0 -1 IdP role assignment(s): deactivation 'modified'"
    assert new[1] == (OKTA, "user.deactivated", "user", "jane@example.com", {"active": True},
                      {"active": False}, "modified; 1 session(s) ended")  # fmt: skip
    modify_user(store, user.id, with_changes(True), OKTA)  # back: the IdP role returns
    held = [(r.role, r.source) for r in user_detail(store, user.id).roles]
    assert held == [("operator", "idp"), ("viewer", "manual")]
    assert events(store, user.id)[-1][1:3] == ("user.reactivated", "user")


def test_patch_of_an_email_replaces_the_email_rows(store: Store) -> None:
    user = create_user(store, okta_input("bo@example.com"), OKTA)
    modify_user(store, user.id, with_changes(True, email="Bo.New@Example.com"), OKTA)
    assert email_rows(store, user.id) == [("Bo.New@Example.com", "bo.new@example.com", "work",
                                           True)]  # fmt: skip
    last = events(store, user.id)[-1]
    assert last[1] == "user.updated" and "emails" in last[4] and "emails" in last[5]


def test_single_member_adds_and_removes_audit_and_count_as_before(store: Store) -> None:
    ensure_default_roles(store)
    set_mapping(store, "Admins", "operator", ADMIN)
    a = create_user(store, okta_input("a@example.com"), OKTA).id
    b = create_user(store, okta_input("b@example.com"), OKTA).id
    plain = create_group(store, GroupInput("Plain", {}), (), OKTA)
    mapped = create_group(store, GroupInput("Admins", {}), (), OKTA)

    def add(group_id: str, *ids: str) -> None:
        change_group(store, group_id, lambda _g: [MembershipChange("add", ids)], OKTA)

    add(plain.id, a)
    add(plain.id, a)  # repeated: nothing changes, nothing is audited
    found = get_group(store, plain.id)
    assert (found.member_count, found.version, [m.id for m in found.members or ()]) == (1, 2, [a])
    assert events(store, plain.id)[1:] == [
        (OKTA, "group.updated", "group", "Plain", {"members": []}, {"members": [a]},
         "+1 -0 member(s)"),
    ]  # fmt: skip
    assert user_detail(store, a).roles == ()  # an unmapped group grants nothing
    add(mapped.id, b)
    assert [(r.role, r.source) for r in user_detail(store, b).roles] == [("operator", "idp")]
    assert events(store, b)[-1][1] == "roles.recomputed"
    # Removed and added back within one PATCH: a member at the end, counted once.
    change_group(store, plain.id, lambda _g: [MembershipChange("remove", (a,)),
                                              MembershipChange("add", (a,))], OKTA)  # fmt: skip
    again = get_group(store, plain.id)
    assert (again.member_count, [m.id for m in again.members or ()]) == (1, [a])
    with pytest.raises(InvalidInput):  # an unknown member: nothing of the PATCH is applied
        change_group(
            store,
            plain.id,
            lambda _g: [MembershipChange("add", (b,)), MembershipChange("add", ("0" * 32,))],
            OKTA,
        )
    assert get_group(store, plain.id).member_count == 1


def _group_row(store: Store, group_id: str) -> tuple[Any, ...]:
    with db_session:
        rows = store.db.select('SELECT "version", "last_modified", "member_count" FROM '
                               '"scim_group" WHERE "id" = $group_id')  # fmt: skip
    version, modified, count = rows[0]
    return int(version), str(modified), int(count)


def _role_events(store: Store, user_id: str, group_id: str, name: str) -> list[tuple[Any, ...]]:
    """A user's role events, the group's id and name (which differ by group) as placeholders."""
    found = [e for e in events(store, user_id) if e[1] == "roles.recomputed"]
    assert all(e[5]["cause"] == causes.group(group_id, name) for e in found)
    return [(e[0], e[4], e[5]["roles"], [g["role"] for g in e[5]["added"]], e[5]["removed"],
             e[6].replace(name, "NAME")) for e in found]  # fmt: skip


def test_a_member_add_has_the_effects_of_the_same_add_made_on_the_group_entity(
    store: Store, clock: FakeClock
) -> None:
    """Member adds alone are written with bound statements; the same adds beside an unchanged
    displayName (Okta re-sends it) go through the group's entity. Both leave the same version,
    lastModified, count, audit event, role recomputation, answer and refusals."""
    ensure_default_roles(store)
    set_mapping(store, "Admins", "operator", ADMIN)
    set_mapping(store, "Owners", "operator", ADMIN)
    users = [create_user(store, okta_input(f"u{i}@example.com"), OKTA).id for i in range(4)]
    fast = create_group(store, GroupInput("Admins", {"x": 1}), (users[0],), OKTA)
    entity = create_group(store, GroupInput("Owners", {"x": 1}), (users[1],), OKTA)

    def add(group_id: str, name: str | None, user_id: str, **kw: Any) -> Any:
        def plan(_g: Any) -> list[MembershipChange]:
            same_name = [MembershipChange("rename", value=name)] if name else []
            return [*same_name, MembershipChange("add", (user_id,))]

        return change_group(store, group_id, plan, OKTA, **kw)

    clock.advance(60)
    answers = [add(fast.id, None, users[2]), add(entity.id, "Owners", users[3])]
    assert [(a.version, a.last_modified, a.member_count, a.document) for a in answers] == [
        (2, aware(clock.now), 2, {"x": 1})
    ] * 2
    assert _group_row(store, fast.id) == _group_row(store, entity.id)
    assert _group_row(store, fast.id)[0::2] == (2, 2)
    assert get_group(store, fast.id).last_modified == aware(clock.now)
    audited = [events(store, g.id)[-1] for g in (fast, entity)]
    assert audited[0][:2] == audited[1][:2] == (OKTA, "group.updated")
    assert (audited[0][4], audited[0][5], audited[0][6]) == (
        {"members": []}, {"members": [users[2]]}, "+1 -0 member(s)")  # fmt: skip
    assert (audited[1][4], audited[1][5], audited[1][6]) == (
        {"members": []}, {"members": [users[3]]}, "+1 -0 member(s)")  # fmt: skip
    made = [_role_events(store, users[2], fast.id, "Admins"),
            _role_events(store, users[3], entity.id, "Owners")]  # fmt: skip
    assert made[0] == made[1] != []
    assert [(r.role, r.source) for r in user_detail(store, users[2]).roles] == [("operator", "idp")]

    # Refusals are the same on both paths, and leave the row as it was.
    other = Scope(create_connection(store, "Entra", "entra", ADMIN).id)
    for group, name, user in ((fast, None, users[3]), (entity, "Owners", users[2])):
        before = _group_row(store, group.id)
        with pytest.raises(PreconditionFailed):
            add(group.id, name, user, if_match=1)
        with pytest.raises(NotFound):
            add(group.id, name, user, scope=other)
        assert _group_row(store, group.id) == before
        # A repeated add changes nothing, not even the version.
        again = add(group.id, name, users[2] if group is fast else users[3], if_match=2)
        assert again.version == 2 and _group_row(store, group.id) == before
