"""PATCH of a Group turned into membership deltas, without ever reading the member list.

Large groups must stay cheap (one member added = O(1) work), so a group PATCH is planned as
a list of ``MembershipChange`` steps the store applies in order inside one transaction:
``add`` / ``remove`` (ids), ``replace_all``, ``remove_all``, ``rename``, ``external_id``.
Dialects: Okta's ``members[value eq "id"]`` removal and its rename that echoes the group id,
Entra's and JumpCloud's ``remove`` with path ``members`` and a value list (removes exactly the
listed members), ``members[value eq "a" or value eq "b"]``, op names in any case.
No Group attribute besides displayName, externalId and members is stored, so the "document"
kind is never produced. Pure: raises only ``ScimError``.
"""

from __future__ import annotations

from typing import Any

from api.scim.attributes import find_attribute, known_schema
from api.scim.documents import check_length, check_storable, given_twice
from api.scim.errors import ScimError, invalid_filter, invalid_path, invalid_value, mutability
from api.scim.mapping import member_ids
from api.scim.patch_ops import PatchOp, in_operation
from api.scim.paths import PatchPath, parse_path
from api.scim.urns import GROUP
from store.domain import limits
from store.domain.criteria import Compare, Criteria, Or
from store.records import MembershipChange


def plan_group_patch(group: dict[str, Any], ops: list[PatchOp]) -> list[MembershipChange]:
    """``group`` is the Group's SCIM JSON (members not needed); returns the steps in order."""
    changes: list[MembershipChange] = []
    for index, op in enumerate(ops):
        try:
            if op.path is None:
                changes.extend(_plan_object(group, op.op, op.value))
            else:
                changes.extend(_plan_path(group, op.op, op.path, op.value))
        except ScimError as error:
            raise in_operation(index, error) from None
    return changes


def _plan_object(group: dict[str, Any], op: str, value: Any) -> list[MembershipChange]:
    if not isinstance(value, dict):
        raise invalid_value(f'"{op}" without a path needs an object value')
    changes: list[MembershipChange] = []
    seen: set[tuple[str, str, str, str]] = set()
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() == "schemas":
            continue
        if key.lower() == "id" and item == group.get("id"):
            continue  # Okta's rename carries the group's own id
        path = parse_path(key)
        if path.target(GROUP) in seen:
            raise given_twice(key)
        seen.add(path.target(GROUP))
        changes.extend(_plan_path(group, op, path, item))
    return changes


def _plan_path(
    group: dict[str, Any], op: str, path: PatchPath, value: Any
) -> list[MembershipChange]:
    if not path.schema_known:
        return []  # Entra's ADSCIM group schema: nothing of it is kept
    schema = known_schema(path.schema) if path.schema else GROUP
    if schema != GROUP:
        raise invalid_path(f'"{path.attribute or schema}" is not an attribute of Group')
    if not path.attribute:
        if op == "remove":
            raise mutability("the Group itself cannot be removed by PATCH")
        return _plan_object(group, op, value)
    attr = find_attribute(path.attribute, GROUP)
    if attr is None:
        raise invalid_path(f'"{path.attribute}" is not an attribute of Group')
    if attr.name == "members":
        return _plan_members(op, path, value)
    if path.sub_attribute is not None or path.value_filter is not None:
        raise invalid_path(f'"{attr.name}" has no sub-attributes')
    if attr.name == "id" and op == "replace" and value == group.get("id"):
        return []
    if attr.read_only:
        raise mutability(f'"{attr.name}" is readOnly')
    if attr.name == "displayName":
        return [MembershipChange("rename", value=_display_name(op, value))]
    return [MembershipChange("external_id", value=_external_id(op, value))]


def _display_name(op: str, value: Any) -> str:
    if op == "remove" or value is None:
        raise mutability('"displayName" is required and cannot be removed')
    if not isinstance(value, str) or not value.strip():
        raise invalid_value('"displayName" must be a non-empty string')
    return check_length(check_storable(value, "displayName"), limits.DISPLAY_NAME, "displayName")


def _external_id(op: str, value: Any) -> str | None:
    if op == "remove" or value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_value('"externalId" must be a string')
    return check_length(check_storable(value, "externalId"), limits.EXTERNAL_ID, "externalId")


def _plan_members(op: str, path: PatchPath, value: Any) -> list[MembershipChange]:
    if path.sub_attribute is not None:
        raise invalid_path(f'"members.{path.sub_attribute}" cannot be patched; use "members"')
    if path.value_filter is not None:
        if op != "remove":
            raise invalid_path('a "members[...]" filter is only supported with "remove"')
        return [MembershipChange("remove", _filter_ids(path.value_filter))]
    if op == "remove":
        if value is None:
            return [MembershipChange("remove_all")]
        ids = member_ids(value, "value")
        return [MembershipChange("remove", ids)] if ids else []
    ids = member_ids(value, "value")
    if op == "replace":
        return [MembershipChange("replace_all", ids)]
    return [MembershipChange("add", ids)] if ids else []


def _filter_ids(criteria: Criteria) -> tuple[str, ...]:
    """``value eq "a"`` or ``value eq "a" or value eq "b"``: the ids to remove."""
    if isinstance(criteria, Or):
        return tuple(dict.fromkeys(_filter_ids(criteria.left) + _filter_ids(criteria.right)))
    if isinstance(criteria, Compare) and criteria.attribute == "value" and criteria.op == "eq":
        if isinstance(criteria.value, str) and criteria.value.strip():
            return (criteria.value,)
        raise invalid_filter("member ids in a members filter must be non-empty strings")
    raise invalid_filter(
        'only "value eq" tests joined by "or" are supported in a members filter, '
        'e.g. members[value eq "<user id>"]'
    )
