"""PATCH applied to a SCIM User (RFC 7644 §3.5.2), in every dialect the IdPs speak.

Works on a deep copy of the user's current SCIM JSON and returns the new JSON; the caller then
checks it with ``mapping.user_input_from_scim(new, mode="patch")``, so a PATCH obeys the same
rules as PUT. Any failure raises ``ScimError`` and the input is never touched, so a request
with several operations is all or nothing. Covers Okta's no-path ``{"active": false}``,
Entra's string booleans and bare-string manager, dotted and URN keys in a no-path value,
``emails[type eq "work"].value`` (creating the work email when missing), value-filter
removal, ``primary`` exclusivity, and readOnly protection (an ``id`` equal to the current one
inside a no-path value is tolerated). ``password`` is ignored, never stored.
"""

from __future__ import annotations

from typing import Any

from api.scim.attributes import Attr, find_attribute, known_schema
from api.scim.documents import given_twice
from api.scim.errors import ScimError, invalid_path, invalid_value, mutability, no_target
from api.scim.filter import matches
from api.scim.patch_ops import PatchOp, in_operation
from api.scim.patch_values import coerce, eq_fields, merge_elements, one_primary, same_fields
from api.scim.paths import PatchPath, parse_path
from api.scim.urns import ENTERPRISE_USER, USER
from store.domain.json_values import detached


def apply_user_patch(resource: dict[str, Any], ops: list[PatchOp]) -> dict[str, Any]:
    result: dict[str, Any] = detached(resource)
    for index, op in enumerate(ops):
        try:
            value = detached(op.value)  # the request is never aliased into the result
            if op.path is None:
                _apply_object(result, op.op, value)
            else:
                _apply_path(result, op.op, op.path, value)
        except ScimError as error:
            raise in_operation(index, error) from None
    return result


def _apply_object(resource: dict[str, Any], op: str, value: Any) -> None:
    """A no-path add/replace: each key is an attribute, a dotted path or a URN path."""
    if not isinstance(value, dict):
        raise invalid_value(f'"{op}" without a path needs an object value')
    seen: set[tuple[str, str, str, str]] = set()
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() == "schemas":
            continue
        if key.lower() == "id" and item == resource.get("id"):
            continue  # Okta and Entra echo the id back: harmless
        path = parse_path(key)
        if path.target(USER) in seen:
            raise given_twice(key)  # the last would decide, ``active`` included
        seen.add(path.target(USER))
        _apply_path(resource, op, path, item)


def _apply_path(resource: dict[str, Any], op: str, path: PatchPath, value: Any) -> None:
    if not path.schema_known:
        return  # Entra's group schema: nothing of it is kept, so nothing to change
    schema = known_schema(path.schema) if path.schema else USER
    if schema not in (USER, ENTERPRISE_USER):
        raise invalid_path(f'"{path.attribute or schema}" is not an attribute of User')
    if not path.attribute:
        _apply_schema(resource, op, schema, value)
        return
    attr = find_attribute(path.attribute, schema)
    if attr is None:
        raise invalid_path(f'"{path.attribute}" is not an attribute of User')
    if attr.mutability == "writeOnly":
        return  # password: accepted and discarded, never stored
    _check_writable(resource, op, attr, path, value)
    holder = _holder(resource, schema, create=op != "remove")
    if holder is None:
        return
    _set(holder, op, attr, path, coerce(attr, value, path.sub_attribute))
    if schema == ENTERPRISE_USER and not holder:
        resource.pop(_key(resource, ENTERPRISE_USER) or ENTERPRISE_USER, None)


def _apply_schema(resource: dict[str, Any], op: str, schema: str, value: Any) -> None:
    """A path naming a whole schema: the core one is the resource itself."""
    if op == "remove":
        if schema == USER:
            raise mutability("the User itself cannot be removed by PATCH")
        resource.pop(_key(resource, schema) or schema, None)
        return
    if not isinstance(value, dict):
        raise invalid_value(f'"{schema}" needs an object value')
    if schema == USER:
        _apply_object(resource, op, value)
        return
    for key, item in value.items():
        if isinstance(key, str) and key.lower() != "schemas":  # clients echo the extension's
            _apply_path(resource, op, parse_path(f"{schema}:{key}"), item)


def _check_writable(
    resource: dict[str, Any], op: str, attr: Attr, path: PatchPath, value: Any
) -> None:
    sub = attr.sub(path.sub_attribute) if path.sub_attribute else None
    if attr.name == "id" and op == "replace" and value == resource.get("id"):
        return
    if attr.read_only or (sub is not None and sub.read_only):
        name = f"{attr.name}.{sub.name}" if sub else attr.name
        raise mutability(f'"{name}" is readOnly')
    if op == "remove" and attr.required and path.value_filter is None and sub is None:
        raise mutability(f'"{attr.name}" is required and cannot be removed')


def _key(holder: dict[str, Any], name: str) -> str | None:
    return next((k for k in holder if isinstance(k, str) and k.lower() == name.lower()), None)


def _holder(resource: dict[str, Any], schema: str, create: bool) -> dict[str, Any] | None:
    if schema == USER:
        return resource
    key = _key(resource, schema)
    if key is None:
        if not create:
            return None
        resource[schema] = {}
        key = schema
    holder = resource[key]
    if not isinstance(holder, dict):
        raise invalid_value(f'"{schema}" must be an object')
    return holder


def _set(holder: dict[str, Any], op: str, attr: Attr, path: PatchPath, value: Any) -> None:
    key = _key(holder, attr.name)
    if key is not None and key != attr.name:
        holder[attr.name] = holder.pop(key)  # keep the canonical spelling
    if path.value_filter is not None:
        _set_filtered(holder, op, attr, path, value)
    elif attr.multi_valued:
        _set_multi(holder, op, attr, path.sub_attribute, value)
    elif path.sub_attribute is not None:
        _set_sub(holder, op, attr, path.sub_attribute, value)
    elif op == "remove" or value is None:
        holder.pop(attr.name, None)
    elif attr.complex and isinstance(holder.get(attr.name), dict):
        if not isinstance(value, dict):
            raise invalid_value(f'"{attr.name}" needs an object value')
        holder[attr.name].update(value)  # sub-attributes not named are left unchanged
        _drop_nulls(holder, attr.name)
    else:
        holder[attr.name] = value


def _drop_nulls(holder: dict[str, Any], name: str) -> None:
    holder[name] = {k: v for k, v in holder[name].items() if v is not None}
    if not holder[name]:
        del holder[name]


def _set_sub(holder: dict[str, Any], op: str, attr: Attr, sub: str, value: Any) -> None:
    current = holder.get(attr.name)
    if current is not None and not isinstance(current, dict):
        raise invalid_value(f'"{attr.name}" must be an object')
    if op == "remove" or value is None:
        if current is not None:
            current.pop(sub, None)
            if not current:
                del holder[attr.name]
        return
    holder.setdefault(attr.name, {})[sub] = value


def _items(holder: dict[str, Any], name: str) -> list[Any]:
    items = holder.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid_value(f'"{name}" must be an array')
    return items


def _set_multi(holder: dict[str, Any], op: str, attr: Attr, sub: str | None, value: Any) -> None:
    items = _items(holder, attr.name)
    if sub is not None:  # e.g. "emails.value" without a filter: every element
        new = [i for i in items if isinstance(i, dict)] or ([{}] if op != "remove" else [])
        for item in new:
            if op == "remove" or value is None:
                item.pop(sub, None)
            else:
                item[sub] = value
        new = items or new
    elif op == "remove":
        new = _without(items, value) if value is not None else []
    elif value is None:
        new = []
    else:
        added = value if isinstance(value, list) else [value]
        new, touched = merge_elements(items, added) if op == "add" else (list(added), added)
        one_primary(new, touched, attr.name)
    if new:
        holder[attr.name] = new
    else:
        holder.pop(attr.name, None)


def _without(items: list[Any], value: Any) -> list[Any]:
    """Entra's ``remove`` with a value list: drop the listed elements, not all of them."""
    listed = value if isinstance(value, list) else [value]
    return [i for i in items if not any(same_fields(i, sel) for sel in listed)]


def _set_filtered(holder: dict[str, Any], op: str, attr: Attr, path: PatchPath, value: Any) -> None:
    items = _items(holder, attr.name)
    criteria = path.value_filter
    hits = [i for i in items if isinstance(i, dict) and criteria and matches(criteria, i)]
    sub = path.sub_attribute
    if op == "remove" or value is None:
        for hit in hits:
            if sub is not None:
                hit.pop(sub, None)
        items = [i for i in items if i != {} and (sub is not None or all(i is not h for h in hits))]
    else:
        if not hits:
            hits = [_new_element(attr, path)]
            items = [*items, hits[0]]
        for hit in hits:
            if sub is not None:
                hit[sub] = detached(value)
            elif isinstance(value, dict):
                hit.update(detached(value))
            else:
                raise invalid_value(f'"{attr.name}[...]" needs an object value')
        one_primary(items, hits, attr.name)
    if items:
        holder[attr.name] = items
    else:
        holder.pop(attr.name, None)


def _new_element(attr: Attr, path: PatchPath) -> dict[str, Any]:
    """Entra replaces ``emails[type eq "work"].value`` on users without a work email: the
    element is created from the filter's equality tests."""
    fields = eq_fields(path.value_filter)
    if fields is None:
        raise no_target(f'no value of "{attr.name}" matches the filter')
    element: dict[str, Any] = coerce(attr, [fields])[0]
    return element
