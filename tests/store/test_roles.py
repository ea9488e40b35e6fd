"""Roles on SQLite and PostgreSQL: manual grants vs IdP-derived roles through the mapping,
deactivation and reactivation, mapping previews, and user detail (deleted users too)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from store.context import Store
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.identity import (
    audit_events,
    list_mappings,
    list_roles,
    user_detail,
    user_roles,
)
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import (
    create_role,
    ensure_default_roles,
    grant_role,
    preview_mapping_change,
    remove_mapping,
    revoke_role,
    set_mapping,
)
from store.services.sessions import start_session
from tests.store.identity_factories import (
    make_group,
    make_user,
    remove_member,
    roles_of,
    soft_delete_user,
)
from tests.support import open_test_store

ADMIN = "operator:alice"


@pytest.fixture(autouse=True)
def _default_roles(store: Store) -> None:
    ensure_default_roles(store)


def test_default_roles_are_seeded_once(store: Store) -> None:
    assert [r.name for r in list_roles(store)] == ["admin", "operator", "viewer"]
    assert ensure_default_roles(store) == []


def test_create_role(store: Store) -> None:
    record = create_role(store, "auditor", "reads audit logs", ADMIN)
    assert record.name == "auditor" and record.description == "reads audit logs"
    assert "auditor" in [r.name for r in list_roles(store)]
    with pytest.raises(Conflict):
        create_role(store, "ADMIN", "", ADMIN)
    for bad in ["", " ", "two words", "-lead", "x" * 129, "semi;colon"]:
        with pytest.raises(InvalidInput):
            create_role(store, bad, "", ADMIN)
    assert [e.action for e in audit_events(store, "role", "auditor")] == ["role.created"]


def test_grant_and_revoke_a_manual_role(store: Store) -> None:
    user_id = make_user(store, "Jane@Example.com")
    assert grant_role(store, "jane@example.com", "Operator", ADMIN) is True
    assert grant_role(store, "JANE@EXAMPLE.COM", "operator", ADMIN) is False
    assert roles_of(store, user_id) == {("operator", "manual")}
    [assignment] = user_roles(store, user_id)
    assert assignment.source == "manual" and assignment.via_group is None
    assert assignment.granted_by == ADMIN
    assert revoke_role(store, "jane@example.com", "operator", ADMIN) is True
    assert revoke_role(store, "jane@example.com", "operator", ADMIN) is False
    assert roles_of(store, user_id) == set()
    actions = [e.action for e in audit_events(store, "user", user_id)]
    assert actions == ["role.revoked", "role.granted"]


def test_grant_errors(store: Store) -> None:
    make_user(store, "jane")
    with pytest.raises(NotFound):
        grant_role(store, "nobody", "admin", ADMIN)
    with pytest.raises(InvalidInput, match="unknown role"):
        grant_role(store, "jane", "superuser", ADMIN)
    with pytest.raises(InvalidInput):
        revoke_role(store, "jane", "superuser", ADMIN)


def test_mapping_gives_members_idp_roles_named_by_the_mapped_group(store: Store) -> None:
    jane = make_user(store, "jane")
    john = make_user(store, "john")
    make_group(store, "OPS TEAM", members=(jane, john))
    mapping = set_mapping(store, "Ops Team", "operator", ADMIN)
    assert (mapping.group_name, mapping.role) == ("Ops Team", "operator")
    assert roles_of(store, jane) == {("operator", "idp")}
    [assignment] = user_roles(store, john)
    assert assignment.source == "idp" and assignment.via_group == "Ops Team"
    again = set_mapping(store, "ops team", "operator", ADMIN)  # idempotent
    assert again.group_name == "Ops Team"
    assert [(m.group_name, m.role) for m in list_mappings(store)] == [("Ops Team", "operator")]
    events = [e.action for e in audit_events(store, "mapping")]
    assert events == ["mapping.set"]


def test_mapping_errors(store: Store) -> None:
    with pytest.raises(InvalidInput):
        set_mapping(store, "Ops", "superuser", ADMIN)
    with pytest.raises(InvalidInput):
        set_mapping(store, "  ", "admin", ADMIN)
    with pytest.raises(InvalidInput):
        set_mapping(store, "g" * 1025, "admin", ADMIN)
    assert remove_mapping(store, "Ops", "admin", ADMIN) is False
    assert remove_mapping(store, "Ops", "superuser", ADMIN) is False
    assert list_mappings(store) == []


def test_manual_and_idp_rows_live_side_by_side(store: Store) -> None:
    jane = make_user(store, "jane")
    ops = make_group(store, "Ops", members=(jane,))
    set_mapping(store, "Ops", "operator", ADMIN)
    assert grant_role(store, "jane", "operator", ADMIN) is True  # manual row despite idp
    assert roles_of(store, jane) == {("operator", "idp"), ("operator", "manual")}
    assert revoke_role(store, "jane", "operator", ADMIN) is True  # the manual row only
    assert roles_of(store, jane) == {("operator", "idp")}
    with pytest.raises(InvalidInput) as info:
        revoke_role(store, "jane", "operator", ADMIN)
    assert "'Ops'" in info.value.message and "mapping" in info.value.message
    assert roles_of(store, jane) == {("operator", "idp")}
    grant_role(store, "jane", "operator", ADMIN)
    remove_member(store, ops, jane)  # the IdP takes her out of the group
    assert roles_of(store, jane) == {("operator", "manual")}


def test_removing_a_mapping_keeps_manual_roles_and_other_groups(store: Store) -> None:
    jane = make_user(store, "jane")
    john = make_user(store, "john")
    make_group(store, "Admins", members=(jane, john))
    make_group(store, "Platform", members=(john,))
    set_mapping(store, "admins", "admin", ADMIN)
    set_mapping(store, "platform", "admin", ADMIN)
    grant_role(store, "jane", "admin", ADMIN)
    assert remove_mapping(store, "ADMINS", "admin", ADMIN) is True
    assert roles_of(store, jane) == {("admin", "manual")}
    assert roles_of(store, john) == {("admin", "idp")}
    assert [r.via_group for r in user_roles(store, john)] == ["platform"]
    assert remove_mapping(store, "admins", "admin", ADMIN) is False


def test_deactivation_drops_idp_roles_and_keeps_manual_ones(store: Store) -> None:
    jane = make_user(store, "jane")
    make_group(store, "Ops", members=(jane,))
    set_mapping(store, "Ops", "operator", ADMIN)
    grant_role(store, "jane", "viewer", ADMIN)
    deactivate_user(store, jane, "token:Okta", "IdP set active=false")
    assert roles_of(store, jane) == {("viewer", "manual")}
    grant_role(store, "jane", "admin", ADMIN)  # manual grants stay possible while inactive
    set_mapping(store, "Ops", "admin", ADMIN)  # and a mapping edit gives her nothing
    assert roles_of(store, jane) == {("viewer", "manual"), ("admin", "manual")}
    reactivate_user(store, jane, "token:Okta")
    assert roles_of(store, jane) == {
        ("viewer", "manual"),
        ("admin", "manual"),
        ("operator", "idp"),
        ("admin", "idp"),
    }


def test_preview_lists_gains_and_losses(store: Store) -> None:
    jane = make_user(store, "jane")
    john = make_user(store, "john")
    ann = make_user(store, "ann")
    idle = make_user(store, "idle", active=False)
    make_group(store, "Ops", members=(jane, john, ann, idle))
    make_group(store, "Platform", members=(ann,))
    set_mapping(store, "Ops", "operator", ADMIN)
    set_mapping(store, "Platform", "operator", ADMIN)
    grant_role(store, "john", "operator", ADMIN)
    changes = preview_mapping_change(store, add=[("ops", "viewer")], remove=[("OPS", "operator")])
    assert changes == [
        ("ann", "viewer", "gain"),  # keeps operator through Platform
        ("jane", "operator", "lose"),
        ("jane", "viewer", "gain"),
        ("john", "viewer", "gain"),  # keeps operator: a manual grant
    ]
    assert preview_mapping_change(store, add=[("Ops", "operator")], remove=[]) == []
    assert preview_mapping_change(store, add=[], remove=[]) == []
    with pytest.raises(InvalidInput):
        preview_mapping_change(store, add=[("Ops", "nope")], remove=[])
    # A preview changes nothing.
    assert roles_of(store, jane) == {("operator", "idp")}
    assert len(list_mappings(store)) == 2


def test_user_detail_shows_roles_groups_sessions_and_audit(store: Store) -> None:
    jane = make_user(store, "Jane@Example.com", display_name="Jane Doe")
    make_group(store, "Ops", members=(jane,))
    set_mapping(store, "Ops", "operator", ADMIN)
    grant_role(store, "jane@example.com", "viewer", ADMIN)
    start_session(store, "jane@example.com", ADMIN)
    detail = user_detail(store, "JANE@example.com")
    assert detail.user.id == jane and detail.user.active and not detail.deleted
    assert [g.display_name for g in detail.user.groups] == ["Ops"]
    assert [(r.role, r.source, r.via_group) for r in detail.roles] == [
        ("operator", "idp", "Ops"),
        ("viewer", "manual", None),
    ]
    assert detail.active_sessions == 1
    actions = [e.action for e in detail.audit]
    assert actions[0] == "session.started" and "role.granted" in actions
    assert user_detail(store, jane).user.user_name == "Jane@Example.com"  # by id too
    with pytest.raises(NotFound):
        user_detail(store, "nobody")


def test_user_detail_of_a_deleted_user_keeps_the_history(store: Store) -> None:
    jane = make_user(store, "jane")
    make_group(store, "Ops", members=(jane,))
    set_mapping(store, "Ops", "operator", ADMIN)
    grant_role(store, "jane", "viewer", ADMIN)
    deactivate_user(store, jane, "token:Entra", "IdP set active=false")
    soft_delete_user(store, jane)
    detail = user_detail(store, "JANE")
    assert detail.deleted and detail.user.id == jane
    assert detail.active_sessions == 0 and detail.user.groups == ()
    assert [(r.role, r.source) for r in detail.roles] == [("viewer", "manual")]
    actions = [e.action for e in detail.audit]
    assert "user.deactivated" in actions and "role.granted" in actions
    assert user_detail(store, jane).deleted
    # A new user of the same name is found first; the deleted one stays readable by id.
    new = make_user(store, "jane")
    assert user_detail(store, "jane").user.id == new
    assert user_detail(store, jane).user.id == jane


def test_audit_events_filters_and_limits(store: Store) -> None:
    make_user(store, "jane")
    for role in ("admin", "operator", "viewer"):
        grant_role(store, "jane", role, ADMIN)
    events = audit_events(store, "user", limit=2)
    assert [e.after["role"] for e in events] == ["viewer", "operator"]
    assert all(e.actor == ADMIN for e in events)
    assert len(audit_events(store, "role")) == 3
    assert audit_events(store, "user", "no-such-id") == []


def test_mapping_change_racing_deactivations_leaves_no_idp_role_on_inactive_users(
    store: Store, store_url: str
) -> None:
    """A mapping edit recomputes a whole group while the IdP deactivates members from another
    process at the same moment: no inactive user may end up holding an IdP role."""
    other = open_test_store(store_url)
    try:
        for round_ in range(3):
            users = [make_user(store, f"r{round_}-user{i}") for i in range(40)]
            make_group(store, f"Ops{round_}", members=tuple(users))
            leavers = users[::2]
            errors = _race(
                lambda r=round_: set_mapping(store, f"ops{r}", "operator", ADMIN),
                lambda ids=leavers: [
                    deactivate_user(other, u, "token:Okta", "IdP set active=false") for u in ids
                ],
            )
            assert errors == []
            for user_id in users:
                held = roles_of(store, user_id)
                expected = set() if user_id in leavers else {("operator", "idp")}
                assert held == expected, f"{user_id} holds {held}"
    finally:
        other.close()


def _race(*calls: Callable[[], object]) -> list[BaseException]:
    """Run the calls in threads released together; returns what they raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_mapping_edits_on_groups_sharing_members(store: Store, store_url: str) -> None:
    """Two operators map two groups with the same members at the same moment, from two
    processes: every member ends up with both roles (no edit undoes the other's)."""
    other = open_test_store(store_url)
    try:
        for round_ in range(3):
            users = [make_user(store, f"r{round_}-member{i}") for i in range(30)]
            make_group(store, f"Red{round_}", members=tuple(users))
            make_group(store, f"Blue{round_}", members=tuple(users))
            errors = _race(
                lambda r=round_: set_mapping(store, f"red{r}", "operator", ADMIN),
                lambda r=round_: set_mapping(other, f"blue{r}", "viewer", ADMIN),
            )
            assert errors == []
            for user_id in users:
                assert roles_of(store, user_id) == {("operator", "idp"), ("viewer", "idp")}
    finally:
        other.close()
