"""Checking and normalising attribute values of incoming resources against the schema.

Used for POST, PUT and the result of a PATCH alike, so every write path enforces the same
rules: canonical attribute-name case, nulls mean "unset" and are dropped, readOnly and unknown
(sub-)attributes are dropped quietly (IdPs send extras), booleans may arrive as Entra's
``"True"``/``"False"`` strings, a bare string for a complex attribute with a ``value``
(Entra's ``manager``) means ``{"value": ...}``, at most one ``primary`` per multi-valued
attribute, and no string the database cannot hold (NUL, lone surrogates, too long). Members
under a schema URN the resource does not have are refused (``refuse_unknown_schemas``); a
member named by its core schema's URN is read as its plain name, and one attribute given
twice is refused (``plain_name``, ``given_twice``).
Pure: raises only ``ScimError`` (invalidValue, invalidSyntax).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.scim.attributes import Attr
from api.scim.errors import ScimError, invalid_syntax, invalid_value
from store.domain import limits
from store.domain.names import fold
from store.domain.text import text_problem


def nesting(value: Any) -> int:
    """How deeply ``value`` nests arrays and objects, counted without recursion (a hostile
    body may nest thousands of levels; Python's own recursion would fail first)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, depth)
            if depth <= limits.NESTING:
                items = current.values() if isinstance(current, dict) else current
                stack.extend((item, depth + 1) for item in items)
    return deepest


def check_nesting(value: Any, where: str) -> None:
    if nesting(value) > limits.NESTING:
        raise invalid_value(f'"{where}" nests deeper than {limits.NESTING} levels')


def to_bool(value: Any, where: str) -> bool:
    """A JSON boolean, or Entra's string form ("True", "False", "false")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_value(f'"{where}" must be true or false')


def check_length(value: str, limit: int, where: str) -> str:
    """Refuse strings longer than a column holds (also once case-folded, as keys are)."""
    if len(value) > limit or len(fold(value)) > limit:
        raise invalid_value(f'"{where}" is longer than {limit} characters')
    return value


def check_storable(value: str, where: str) -> str:
    """Refuse a string no database can hold (``store.domain.text``: NUL, lone surrogates)."""
    if (problem := text_problem(value)) is not None:
        raise invalid_value(f'"{where}" {problem}')
    return value


def clean_value(attr: Attr, value: Any, where: str) -> Any:
    """The value to keep for ``attr`` (None: nothing to keep)."""
    if value is None:
        return None
    if not attr.multi_valued:
        return _single(attr, value, where)
    if not isinstance(value, list):
        raise invalid_value(f'"{where}" must be an array')
    items = [_single(attr, item, f"{where}[{i}]") for i, item in enumerate(value)]
    kept = [item for item in items if item is not None]
    if attr.complex and sum(1 for item in kept if item.get("primary") is True) > 1:
        raise invalid_value(f'"{where}" has more than one value with primary true')
    return kept or None


def clean_object(
    attrs: dict[str, Attr], value: Any, where: str, urn: str | None = None
) -> dict[str, Any]:
    """The known, writable attributes of a JSON object, cleaned and canonically named; with
    ``urn``, also those named by their full URN under that schema (``plain_name``). One such
    attribute given twice (not null) is refused (``given_twice``)."""
    if not isinstance(value, dict):
        raise invalid_value(f'"{where}" must be an object')
    kept: dict[str, Any] = {}
    seen: set[str] = set()
    for key, item in value.items():
        name = plain_name(key, urn)
        attr = attrs.get(name.lower()) if isinstance(name, str) else None
        if attr is None or attr.read_only or attr.mutability == "writeOnly":
            continue  # unknown, readOnly or password: ignored on input (RFC 7644 §3.5.1)
        if item is not None:  # null is "not given" (dropped below), never a second value
            if attr.name in seen:
                raise given_twice(name)
            seen.add(attr.name)
        cleaned = clean_value(attr, item, f"{where}.{attr.name}" if where else attr.name)
        if cleaned is not None:
            kept[attr.name] = cleaned
    return kept


def plain_name(key: Any, urn: str | None) -> Any:
    """The attribute a body member ``key`` names: a member named by its full URN under the
    resource's core schema ``urn`` (``urn:...:core:2.0:User:active``, RFC 7644 §3.10) names
    the plain attribute (a deactivation spelt so used to be dropped, answering 200)."""
    if urn is None or not isinstance(key, str):
        return key
    prefix = urn.lower() + ":"
    return key[len(prefix) :] if key.lower().startswith(prefix) else key


def given_twice(name: str) -> ScimError:
    """Two members naming one attribute (in any case or spelling) are ambiguous: whichever
    came last would otherwise decide, ``active`` included."""
    return invalid_syntax(f'"{shown_key(name)}" is given twice: send each attribute once')


def shown_key(key: str) -> str:
    """A body member's name as an error message quotes it: at most 120 characters."""
    return key if len(key) <= 120 else key[:117] + "..."


def lower_fields(value: dict[str, Any]) -> dict[str, Any]:
    """The members of a protocol object (a PatchOp body, one operation) by lower-case name;
    one given twice in any case is refused (``given_twice``), null or not."""
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, str):
            if key.lower() in fields:
                raise given_twice(key)
            fields[key.lower()] = item
    return fields


def members_named(body: dict[str, Any], urn: str, names: Iterable[str]) -> dict[str, Any]:
    """The members of ``body`` that name one of ``names`` (lower case), plain or by their
    ``urn``-qualified name, keyed by the lower-case name (a null member is not given); one
    named twice is refused."""
    wanted, found = set(names), {}
    for key, value in body.items():
        name = plain_name(key, urn)
        if isinstance(name, str) and name.lower() in wanted and value is not None:
            if name.lower() in found:
                raise given_twice(name)
            found[name.lower()] = value
    return found


def refuse_unknown_schemas(body: dict[str, Any], kept: tuple[str, ...]) -> None:
    """A top-level member under a schema URN this resource does not have is refused.

    Unknown plain names stay ignored (IdPs send extras, RFC 7644 §3.5.1), but a whole
    extension this service does not keep, or a misspelt enterprise URN, would be dropped
    without a word while the IdP believes it synced it. ``kept`` are the schemas whose
    members are read or knowingly ignored (Entra's attribute-less group schema)."""
    known = {urn.lower() for urn in kept}
    for key in body:
        if not isinstance(key, str) or ":" not in key:
            continue
        if key.lower() not in known and key.rpartition(":")[0].lower() not in known:
            raise invalid_syntax(f'"{shown_key(key)}" is not a schema of this resource')


def _single(attr: Attr, value: Any, where: str) -> Any:
    if value is None:
        return None
    if attr.complex:
        if isinstance(value, str) and attr.sub("value") and not attr.multi_valued:
            value = {"value": value}  # Entra sends the enterprise manager as a bare id
        subs = {sub.name.lower(): sub for sub in attr.sub_attributes}
        cleaned = clean_object(subs, value, where)
        if attr.sub("value") and not attr.multi_valued and not cleaned.get("value"):
            return None  # a manager without an id is no manager
        return cleaned or None
    if attr.type == "boolean":
        return to_bool(value, where)
    return _text(value, where)


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_value(f'"{where}" must be a string')
    if not isinstance(value, str):
        value = str(value)  # a number mapped to a string attribute by an IdP admin
    return check_length(check_storable(value, where), limits.STRING, where)
