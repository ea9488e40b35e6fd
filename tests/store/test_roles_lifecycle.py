"""The product guide's offboarding story at the store level, through the real SCIM users and
groups services (as the API calls them) and the role, mapping and session use cases."""

from __future__ import annotations

import pytest

from store.context import Store
from store.errors import InvalidInput
from store.queries.identity import user_detail
from store.records import GroupInput, MembershipChange, UserInput, UserRecord
from store.services.groups import change_group, create_group
from store.services.roles import ensure_default_roles, grant_role, remove_mapping, set_mapping
from store.services.sessions import check_session, start_session
from store.services.users import create_user, delete_user, modify_user

OKTA = "token:Okta SCIM"
ADMIN = "operator:alice"


def with_active(active: bool):  # noqa: ANN201 - a transform for modify_user
    def transform(record: UserRecord) -> UserInput:
        return UserInput(
            user_name=record.user_name,
            document={**record.document, "active": active},
            external_id=record.external_id,
            display_name=record.display_name,
            active=active,
        )

    return transform


def roles(store: Store, name: str) -> list[tuple[str, str]]:
    return [(r.role, r.source) for r in user_detail(store, name).roles]


@pytest.fixture
def jane(store: Store) -> str:
    """Jane, provisioned by Okta into a mapped group, with a manual grant and a session."""
    ensure_default_roles(store)
    document = {"userName": "jane@example.com", "displayName": "Jane Doe", "active": True}
    record = create_user(
        store, UserInput("jane@example.com", document, external_id="00u1", display_name="Jane"),
        OKTA,
    )  # fmt: skip
    set_mapping(store, "Engineering", "operator", ADMIN)
    create_group(
        store, GroupInput("engineering", {"displayName": "engineering"}), (record.id,), OKTA
    )
    grant_role(store, "jane@example.com", "viewer", ADMIN)
    return record.id


def test_deactivation_and_reactivation_through_the_users_service(store: Store, jane: str) -> None:
    _, cookie = start_session(store, "jane@example.com", ADMIN)
    assert check_session(store, cookie).roles == ("operator", "viewer")
    modify_user(store, jane, with_active(False), OKTA)
    assert check_session(store, cookie).reason == "ended"  # the very next check
    assert roles(store, "jane@example.com") == [("viewer", "manual")]
    with pytest.raises(InvalidInput):
        start_session(store, "jane@example.com", ADMIN)
    modify_user(store, jane, with_active(True), OKTA)
    assert roles(store, "jane@example.com") == [("operator", "idp"), ("viewer", "manual")]
    _, fresh = start_session(store, "jane@example.com", ADMIN)
    assert check_session(store, fresh).valid and not check_session(store, cookie).valid
    actions = [e.action for e in user_detail(store, jane, audit_limit=100).audit]
    assert "user.deactivated" in actions and "user.reactivated" in actions


def test_unassignment_from_the_group_and_mapping_removal(store: Store, jane: str) -> None:
    group_id = user_detail(store, jane).user.groups[0].id
    change_group(store, group_id, lambda g: [MembershipChange("remove", (jane,))], OKTA)
    assert roles(store, "jane@example.com") == [("viewer", "manual")]
    change_group(store, group_id, lambda g: [MembershipChange("add", (jane,))], OKTA)
    assert roles(store, "jane@example.com") == [("operator", "idp"), ("viewer", "manual")]
    remove_mapping(store, "ENGINEERING", "operator", ADMIN)
    assert roles(store, "jane@example.com") == [("viewer", "manual")]


def test_deleted_user_keeps_manual_roles_and_history(store: Store, jane: str) -> None:
    _, cookie = start_session(store, "jane@example.com", ADMIN)
    delete_user(store, jane, OKTA)
    assert not check_session(store, cookie).valid
    detail = user_detail(store, "JANE@example.com")
    assert detail.deleted and detail.user.id == jane and not detail.user.active
    assert [(r.role, r.source) for r in detail.roles] == [("viewer", "manual")]
    assert detail.active_sessions == 0 and detail.user.groups == ()
    actions = [e.action for e in user_detail(store, jane, audit_limit=100).audit]
    assert {"user.deleted", "user.deactivated", "role.granted", "session.started"} <= set(actions)
