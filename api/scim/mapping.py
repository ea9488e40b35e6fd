"""SCIM JSON <-> store records, list responses and ETags.

Incoming Users and Groups are checked and normalised here (through ``documents``) into the
store's inputs; records are turned back into their SCIM representation with ``meta`` and the
``attributes``/``excludedAttributes`` projection. A password is never kept nor returned;
readOnly input (id, meta, groups) is ignored. Pure: no I/O, no clock (timestamps come from
the records), raises only ``ScimError``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from api.scim.attributes import ENTERPRISE_ATTRIBUTES, EXTERNAL_ID, USER_ATTRIBUTES
from api.scim.documents import (
    check_length,
    clean_object,
    clean_value,
    members_named,
    refuse_unknown_schemas,
    to_bool,
)
from api.scim.errors import invalid_syntax, invalid_value, precondition_failed
from api.scim.projection import names, project
from api.scim.urns import ENTERPRISE_USER, ENTRA_GROUP, GROUP, LIST_RESPONSE, USER
from store.domain import limits
from store.domain.json_values import detached
from store.records import EmailInput, GroupInput, GroupRecord, UserInput, UserRecord

# ``password`` stays in: ``clean_object`` drops every writeOnly attribute, the one place an
# incoming password is discarded.
_CORE = {a.name.lower(): a for a in USER_ATTRIBUTES if a.name != "groups"}
_CORE["externalid"] = EXTERNAL_ID
_ENTERPRISE = {a.name.lower(): a for a in ENTERPRISE_ATTRIBUTES}
_MODES = ("create", "replace", "patch")


# ---- users ---------------------------------------------------------------------------------


def user_input_from_scim(body: Any, mode: str = "create") -> UserInput:
    """Check a User body (POST, PUT, or the result of a PATCH) and build the store input."""
    if mode not in _MODES:
        raise ValueError(f"unknown mode {mode!r}")
    _require_schemas(body, USER, required=mode != "patch")
    refuse_unknown_schemas(body, (USER, ENTERPRISE_USER))
    document = clean_object(_CORE, body, "", USER)
    extension = _extension(body)
    if extension:
        document[ENTERPRISE_USER] = extension
    user_name = document.pop("userName", None)
    if not isinstance(user_name, str) or not user_name.strip():
        raise invalid_value('"userName" is required and must be a non-empty string')
    external_id = document.pop("externalId", None) or None
    active = document.pop("active", None)  # absent or null: the store decides per write
    name = document.get("name", {})
    return UserInput(
        user_name=check_length(user_name, limits.USER_NAME, "userName"),
        document=document,
        external_id=external_id and check_length(external_id, limits.EXTERNAL_ID, "externalId"),
        display_name=_limited(document.get("displayName"), limits.DISPLAY_NAME, "displayName"),
        given_name=_limited(name.get("givenName"), limits.NAME_PART, "name.givenName"),
        family_name=_limited(name.get("familyName"), limits.NAME_PART, "name.familyName"),
        active=active,
        emails=_emails(document.get("emails", [])),
    )


def _require_schemas(body: Any, urn: str, required: bool = True) -> None:
    if not isinstance(body, dict):
        raise invalid_syntax("the request body must be a JSON object")
    schemas = body.get("schemas")
    if schemas is None and not required:
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise invalid_syntax(f'"schemas" must be an array of URNs including "{urn}"')
    if urn.lower() not in {s.lower() for s in schemas}:
        raise invalid_syntax(f'"schemas" must include "{urn}"')


def _extension(body: dict[str, Any]) -> dict[str, Any]:
    key = next(
        (k for k in body if isinstance(k, str) and k.lower() == ENTERPRISE_USER.lower()), None
    )
    if key is None or body[key] is None:
        return {}
    return clean_object(_ENTERPRISE, body[key], ENTERPRISE_USER)


def _limited(value: str | None, limit: int, where: str) -> str | None:
    return None if value is None else check_length(value, limit, where)


def _emails(emails: list[dict[str, Any]]) -> tuple[EmailInput, ...]:
    result = []
    for i, email in enumerate(emails):
        value = email.get("value")
        if not value or not value.strip():
            raise invalid_value(f'"emails[{i}].value" is required')
        result.append(
            EmailInput(
                value=check_length(value, limits.EMAIL, f"emails[{i}].value"),
                type=_limited(email.get("type"), limits.EMAIL_TYPE, f"emails[{i}].type"),
                primary=email.get("primary") is True,
            )
        )
    return tuple(result)


_FROM_DOCUMENT = tuple(
    attr.name
    for attr in USER_ATTRIBUTES
    if attr.returned != "never" and attr.name not in ("userName", "active", "groups")
)
"""The User attributes answered from the stored document (a password is never returned,
whatever a stored document holds; the others come from their own columns)."""


def user_to_scim(
    record: UserRecord,
    base_url: str,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> dict[str, Any]:
    """The full SCIM User for ``record``, then projected (RFC 7644 §3.9)."""
    document = record.document  # what the answer takes of it is copied, never aliased
    extension = document.get(ENTERPRISE_USER)
    resource: dict[str, Any] = {"schemas": [USER, ENTERPRISE_USER] if extension else [USER]}
    resource["id"] = record.id
    if record.external_id is not None:
        resource["externalId"] = record.external_id
    resource["userName"] = record.user_name
    for name in _FROM_DOCUMENT:
        if name in document:
            resource[name] = detached(document[name])
    if record.display_name is not None:
        resource["displayName"] = record.display_name
    if record.active is not None:  # unassigned: omitted (RFC 7644 §3.5.2.2)
        resource["active"] = record.active
    if record.groups:
        resource["groups"] = [
            {"value": g.id, "display": g.display_name, "$ref": f"{base_url}/Groups/{g.id}",
             "type": "direct"}
            for g in record.groups
        ]  # fmt: skip
    if extension:
        resource[ENTERPRISE_USER] = detached(extension)
    resource["meta"] = _meta("User", record, f"{base_url}/Users/{record.id}")
    return project(resource, USER, attributes, excluded)


def _meta(kind: str, record: UserRecord | GroupRecord, location: str) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": format_datetime(record.created),
        "lastModified": format_datetime(record.last_modified),
        "location": location,
        "version": etag(record.version),
    }


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (naive datetimes are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


# ---- groups --------------------------------------------------------------------------------


def group_input_from_scim(body: Any) -> tuple[GroupInput, tuple[str, ...]]:
    """Check a Group body (POST, PUT) and return the store input and its member user ids.
    Entra's extra group schema is tolerated; members must be Users."""
    _require_schemas(body, GROUP)
    refuse_unknown_schemas(body, (GROUP, ENTRA_GROUP))
    fields = members_named(body, GROUP, ("displayname", "externalid", "members"))
    display_name = fields.get("displayname")
    if not isinstance(display_name, str) or not display_name.strip():
        raise invalid_value('"displayName" is required and must be a non-empty string')
    check_length(display_name, limits.DISPLAY_NAME, "displayName")
    external_id = clean_value(EXTERNAL_ID, fields.get("externalid"), "externalId")
    if external_id is not None:
        check_length(external_id, limits.EXTERNAL_ID, "externalId")
    members = member_ids(fields.get("members"), "members")
    return GroupInput(display_name, {}, external_id or None), members


def member_ids(value: Any, where: str) -> tuple[str, ...]:
    """User ids of a ``members`` value: an array of ``{"value": id, ...}`` (a single object is
    tolerated). Duplicates collapse; ``display`` and ``$ref`` are ignored."""
    if value is None:
        return ()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise invalid_value(f'"{where}" must be an array of members')
    ids: dict[str, None] = {}
    for i, member in enumerate(value):
        if not isinstance(member, dict):
            raise invalid_value(f'"{where}[{i}]" must be an object with a "value"')
        fields = {k.lower(): v for k, v in member.items() if isinstance(k, str)}
        kind = fields.get("type")
        if kind is not None and (not isinstance(kind, str) or kind.lower() != "user"):
            raise invalid_value(f'"{where}[{i}].type" {kind!r} is not supported: members are Users')
        member_id = fields.get("value")
        if not isinstance(member_id, str) or not member_id.strip():
            raise invalid_value(f'"{where}[{i}].value" must be a non-empty user id')
        ids[member_id] = None
    return tuple(ids)


def group_to_scim(
    record: GroupRecord,
    base_url: str,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {"schemas": [GROUP], "id": record.id}
    if record.external_id is not None:
        resource["externalId"] = record.external_id
    resource["displayName"] = record.display_name
    if record.members is not None:
        # "display" is returned on request only: clients that compare what they wrote with
        # what they read back (strict checkers) do not expect a value they never sent.
        display = names(attributes, GROUP, "members.display")
        resource["members"] = [
            {"value": m.id, **({"display": m.display} if display else {}),
             "$ref": f"{base_url}/Users/{m.id}", "type": "User"}
            for m in record.members
        ]  # fmt: skip
    resource["meta"] = _meta("Group", record, f"{base_url}/Groups/{record.id}")
    return project(resource, GROUP, attributes, excluded)


# ---- lists and versions --------------------------------------------------------------------


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": int(total),
        "startIndex": int(start_index),
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def etag(version: int) -> str:
    return f'W/"{version}"'


_ENTITY_TAG = re.compile(r'(?:[Ww]/)?(?:"(\d{1,18})"|(\d{1,18}))')


def if_match_versions(header: str | None) -> frozenset[int] | None:
    """The versions an ``If-Match`` header accepts, any one of which must be current
    (RFC 7232 §3.1). None means no condition: no header, or ``*``, which matches any current
    version (the use case already refuses a resource that does not exist). A header naming
    no version of ours can never match: 412."""
    if header is None or not header.strip():
        return None
    versions = set()
    for part in header.split(","):
        part = part.strip()
        if part == "*":
            return None
        match = _ENTITY_TAG.fullmatch(part)
        if match:
            versions.add(int(match.group(1) or match.group(2)))
    if not versions:
        raise precondition_failed("If-Match does not name a version of this resource")
    return frozenset(versions)


def to_active(value: Any) -> bool:
    """``active`` as a boolean (Entra sends "True"/"False")."""
    return to_bool(value, "active")
