"""Every role change names its cause in its audit event (SQLite and PostgreSQL): a group
membership with the mapping row, a group rename, a group deletion, a mapping edit, a manual
grant, a deactivation or reactivation. A user DELETE lists the groups it left, and each of
those groups records the removal."""

from __future__ import annotations

from typing import Any

import pytest

from store.context import Store
from store.queries.identity import audit_events
from store.records import MembershipChange
from store.services.groups import change_group, delete_group
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import ensure_default_roles, grant_role, remove_mapping, set_mapping
from store.services.users import delete_user
from tests.store.identity_factories import add_member, make_group, make_user

OPERATOR = "operator:alice"


@pytest.fixture(autouse=True)
def _default_roles(store: Store) -> None:
    ensure_default_roles(store)


def _recomputed(store: Store, user_id: str) -> dict[str, Any]:
    """The newest roles.recomputed event of the user."""
    event = next(
        e for e in audit_events(store, "user", user_id, 50) if e.action == "roles.recomputed"
    )
    assert isinstance(event.after, dict)
    return event.after


def _mapping_id(store: Store, action: str = "mapping.set") -> int:
    event = next(e for e in audit_events(store, "mapping", None, 50) if e.action == action)
    side = event.after if action == "mapping.set" else event.before
    return int(side["mapping_id"])


def test_membership_names_group_and_mapping_row(store: Store) -> None:
    set_mapping(store, "Admins", "admin", OPERATOR)
    mapping_id = _mapping_id(store)
    jane = make_user(store, "jane")
    group = make_group(store, "Admins")
    add_member(store, group, jane)
    after = _recomputed(store, jane)
    assert after["cause"] == {"cause": "group", "group_id": group, "group": "Admins"}
    assert after["added"] == [{"role": "admin", "group_key": "admins", "mapping_id": mapping_id}]
    assert after["removed"] == [] and after["roles"] == ["admin"]
    detail = audit_events(store, "user", jane, 1)[0].detail
    assert "group 'Admins'" in detail


def test_rename_and_delete_name_the_group(store: Store) -> None:
    set_mapping(store, "Admins", "admin", OPERATOR)
    jane = make_user(store, "jane")
    group = make_group(store, "Staff", (jane,))
    change_group(store, group, lambda _g: [MembershipChange("rename", value="Admins")], "t")
    after = _recomputed(store, jane)
    assert after["cause"] == {
        "cause": "group.renamed", "group_id": group, "group": "Admins", "previous": "Staff",
    }  # fmt: skip
    delete_group(store, group, "t")
    after = _recomputed(store, jane)
    assert after["cause"] == {"cause": "group.deleted", "group_id": group, "group": "Admins"}
    assert after["removed"][0]["role"] == "admin" and after["roles"] == []


def test_mapping_edits_name_the_mapping_row(store: Store) -> None:
    jane = make_user(store, "jane")
    make_group(store, "Admins", (jane,))
    set_mapping(store, "ADMINS", "admin", OPERATOR)
    mapping_id = _mapping_id(store)
    after = _recomputed(store, jane)
    assert after["cause"] == {
        "cause": "mapping.set", "mapping_id": mapping_id, "group": "ADMINS", "role": "admin",
    }  # fmt: skip
    remove_mapping(store, "admins", "admin", OPERATOR)
    after = _recomputed(store, jane)
    assert after["cause"]["cause"] == "mapping.removed"
    assert after["cause"]["mapping_id"] == mapping_id
    assert after["removed"] == [{"role": "admin", "group_key": "admins", "mapping_id": None}]


def test_lifecycle_and_manual_grants_name_their_cause(store: Store) -> None:
    set_mapping(store, "Admins", "admin", OPERATOR)
    jane = make_user(store, "jane")
    make_group(store, "Admins", (jane,))
    deactivate_user(store, jane, OPERATOR, "left the team")
    assert _recomputed(store, jane)["cause"] == {"cause": "deactivation", "reason": "left the team"}
    reactivate_user(store, jane, OPERATOR, "back")
    assert _recomputed(store, jane)["cause"] == {"cause": "reactivation", "reason": "back"}
    grant_role(store, "jane", "viewer", OPERATOR)
    event = audit_events(store, "user", jane, 1)[0]
    assert event.action == "role.granted" and event.after["cause"] == {"cause": "manual"}


def test_user_delete_lists_and_audits_the_groups_it_left(store: Store) -> None:
    jane = make_user(store, "jane")
    first = make_group(store, "Finance", (jane,))
    second = make_group(store, "Staff", (jane,))
    delete_user(store, jane, "token:Okta")
    deleted = next(e for e in audit_events(store, "user", jane, 50) if e.action == "user.deleted")
    assert sorted(deleted.before["groups"], key=lambda g: g["displayName"]) == [
        {"id": first, "displayName": "Finance"},
        {"id": second, "displayName": "Staff"},
    ]
    for group in (first, second):
        event = audit_events(store, "group", group, 1)[0]
        assert (event.action, event.actor) == ("group.updated", "token:Okta")
        assert event.before == {"members": [jane]}
        assert event.after == {"members": [], "cause": {"cause": "user.deleted", "user_id": jane}}
