"""Real-shaped IdP payloads (from IDP_QUIRKS.md) shared by the protocol-core tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.scim.mapping import user_input_from_scim
from store.records import GroupRecord, GroupRef, MemberRef, UserRecord

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
BASE = "https://control.example.com/scim/v2"

OKTA_CREATE: dict[str, Any] = {
    "schemas": [CORE],
    "userName": "jane@example.com",
    "name": {"givenName": "Jane", "familyName": "Doe"},
    "emails": [{"primary": True, "value": "jane@example.com", "type": "work"}],
    "displayName": "Jane Doe",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}

ENTRA_CREATE: dict[str, Any] = {
    "schemas": [CORE, ENTERPRISE],
    "externalId": "0a5b2c0e-9d61-4c3f-8f0e-3c1c2b7d9e11",
    "userName": "Barbara.Jensen@contoso.example",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Barbara.Jensen@contoso.example"}],
    "name": {"formatted": "Barbara Jensen", "familyName": "Jensen", "givenName": "Barbara"},
    "roles": [],
    ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": "m-42"},
}

JUMPCLOUD_CREATE: dict[str, Any] = {
    "schemas": [CORE],
    "userName": "john.smith@corp",
    "externalId": "5f1b2c3d4e5f6a7b8c9d0e1f",
    "name": {"givenName": "John", "familyName": "Smith"},
    "displayName": "John Smith",
    "emails": [{"value": "john.smith@corp", "type": "work", "primary": True}],
    "active": True,
}

CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MODIFIED = datetime(2024, 5, 2, 8, 30, 15, tzinfo=UTC)


def user_record(body: dict[str, Any], user_id: str = "u-1", **changes: Any) -> UserRecord:
    """The record the store would hold after creating ``body``."""
    given = user_input_from_scim(body)
    fields: dict[str, Any] = {
        "id": user_id,
        "user_name": given.user_name,
        "external_id": given.external_id,
        "display_name": given.display_name,
        "active": given.active,
        "document": given.document,
        "created": CREATED,
        "last_modified": MODIFIED,
        "version": 4,
        "groups": (GroupRef("g-1", "Engineering"),),
    }
    fields.update(changes)
    return UserRecord(**fields)


def group_record(members: tuple[MemberRef, ...] | None = None, **changes: Any) -> GroupRecord:
    fields: dict[str, Any] = {
        "id": "g-1",
        "display_name": "Engineering",
        "external_id": None,
        "document": {},
        "created": CREATED,
        "last_modified": MODIFIED,
        "version": 2,
        "member_count": len(members or ()),
        "members": members,
    }
    fields.update(changes)
    return GroupRecord(**fields)
