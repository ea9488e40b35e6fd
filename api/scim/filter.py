"""SCIM filters: text -> the store-neutral criteria tree, and value filters in memory.

``parse_filter`` resolves every attribute against the store's filterable catalogue
(``store.domain.criteria``): an attribute outside it is a 400 invalidFilter naming it, never a
silently ignored condition. Values are checked and coerced to the attribute's type, so the
store's query compiler receives only well-typed comparisons. ``matches`` evaluates the value
filter of a PATCH path against one element of a multi-valued attribute. Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.scim.errors import ScimError, invalid_filter
from api.scim.filter_lexer import tokenize
from api.scim.filter_parser import Parser
from api.scim.paths import PatchPath, parse_path  # noqa: F401  (part of this module's API)
from api.scim.urns import GROUP, USER
from store.domain import limits
from store.domain.criteria import (
    GROUP_ATTRIBUTES,
    MULTI_VALUED,
    USER_ATTRIBUTES,
    And,
    AttrType,
    Criteria,
    Not,
    Or,
    Present,
    ValuePath,
)
from store.domain.names import fold

_CATALOGUES = {"User": (USER, USER_ATTRIBUTES), "Group": (GROUP, GROUP_ATTRIBUTES)}
_ORDERING = ("gt", "ge", "lt", "le")
_SUBSTRING = ("co", "sw", "ew")


def parse_filter(
    text: str,
    resource: str,
    max_length: int = limits.FILTER_LENGTH,
    max_depth: int = limits.FILTER_DEPTH,
) -> Criteria:
    """Parse a SCIM filter for ``resource`` ("User" or "Group") into criteria."""
    if resource not in _CATALOGUES:
        raise ValueError(f"unknown resource type {resource!r}")
    if not isinstance(text, str):
        raise invalid_filter("filter must be a string")
    if len(text) > max_length:
        raise invalid_filter(f"filter is longer than {max_length} characters")
    if not text.strip():
        raise invalid_filter("filter is empty")
    parser = Parser(tokenize(text, invalid_filter), _CatalogueResolver(resource), invalid_filter,
                    max_depth)  # fmt: skip
    criteria = parser.filter()
    if parser.peek.kind != "end":
        raise parser.unexpected(parser.peek, "'and', 'or' or the end of the filter")
    return criteria


class _CatalogueResolver:
    """Names resolved against the filterable attributes of one resource type."""

    def __init__(self, resource: str) -> None:
        self.urn, self.catalogue = _CATALOGUES[resource]
        self.names = {name.lower(): name for name in self.catalogue}

    def _bare(self, name: str) -> str:
        """``urn:...:User:userName`` -> ``userName``; another schema's URN keeps its prefix
        so that the lookup fails and the error names exactly what the client sent."""
        urn, colon, attr = name.rpartition(":")
        if colon and urn.lower() == self.urn.lower():
            return attr
        return name

    def _unsupported(self, name: str) -> ScimError:
        return invalid_filter(f'unsupported filter attribute "{name}"')

    def attribute(self, name: str, pos: int) -> str:
        key = self._bare(name).lower()
        if key in self.names:
            return self.names[key]
        if f"{key}.value" in self.names and key in {m.lower() for m in MULTI_VALUED}:
            return self.names[f"{key}.value"]
        raise self._unsupported(name)

    def value_path(self, name: str, pos: int) -> str:
        key = self._bare(name).lower()
        for multi in MULTI_VALUED:
            if multi.lower() == key and f"{key}.value" in self.names:
                return multi
        if key in self.names:
            raise invalid_filter(f'"{name}" is not multi-valued: it cannot take a value filter')
        raise self._unsupported(name)

    def sub_attribute(self, parent: str, name: str, pos: int) -> str:
        key = f"{parent}.{name}".lower()
        if key in self.names:
            return self.names[key].partition(".")[2]
        raise self._unsupported(f"{parent}.{name}")

    def value(self, attribute: str, op: str, value: Any, pos: int) -> Any:
        kind = self.catalogue[attribute]
        where = f"for {attribute} at character {pos + 1}"
        if value is None:
            raise invalid_filter(f"null is not a comparison value {where}; use 'pr' instead")
        if kind is AttrType.BOOLEAN:
            return _boolean(op, value, where)
        if kind is AttrType.DATETIME:
            return _datetime(op, value, where)
        if not isinstance(value, str):
            raise invalid_filter(f"expected a string {where}")
        return value


def _boolean(op: str, value: Any, where: str) -> bool:
    if op not in ("eq", "ne"):
        raise invalid_filter(f"operator '{op}' cannot compare booleans {where}")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise invalid_filter(f"expected true or false {where}")
    return value


def _datetime(op: str, value: Any, where: str) -> datetime:
    if op in _SUBSTRING:
        raise invalid_filter(f"operator '{op}' cannot compare dateTime values {where}")
    if not isinstance(value, str):
        raise invalid_filter(f"expected an ISO 8601 dateTime string {where}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise invalid_filter(f'invalid dateTime "{value}" {where}') from None
    return parsed


# ---- in-memory evaluation of value filters ----------------------------------------------


def matches(criteria: Criteria, element: Any) -> bool:
    """Whether one element of a multi-valued attribute satisfies a value filter.

    Attribute names are sub-attribute names, looked up in any case; strings compare
    case-insensitively through ``store.domain.names.fold``, the key the SQL filter compares
    (so memory and database agree on ß/SS, fullwidth letters and ligatures);
    ``"true"``/``"false"`` strings compare equal to booleans."""
    if isinstance(criteria, And):
        return matches(criteria.left, element) and matches(criteria.right, element)
    if isinstance(criteria, Or):
        return matches(criteria.left, element) or matches(criteria.right, element)
    if isinstance(criteria, Not):
        return not matches(criteria.inner, element)
    if isinstance(criteria, Present):
        return _present(_lookup(element, criteria.attribute))
    if isinstance(criteria, ValuePath):
        items = _lookup(element, criteria.attribute)
        return isinstance(items, list) and any(matches(criteria.inner, i) for i in items)
    return _compare(_lookup(element, criteria.attribute), criteria.op, criteria.value)


def _present(value: Any) -> bool:
    """RFC 7644 §3.4.2.2 ``pr``: null, an empty or blank string (whose key, like the stored
    one the SQL compiler reads, is empty), an empty array or object are no value."""
    if isinstance(value, str):
        return fold(value) != ""
    return value not in (None, [], {})


def _lookup(element: Any, attribute: str) -> Any:
    current = element
    for part in attribute.split("."):
        if not isinstance(current, dict):
            return None
        current = next((v for k, v in current.items() if k.lower() == part.lower()), None)
    return current


def _normal(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        actual, expected = _normal(actual), _normal(expected)
        if not (isinstance(actual, bool) and isinstance(expected, bool)):
            return op == "ne"
    elif isinstance(actual, int | float) and isinstance(expected, int | float):
        pass
    elif isinstance(actual, str | int | float) and isinstance(expected, str | int | float):
        actual, expected = fold(str(actual)), fold(str(expected))
    else:
        return op == "ne" and actual != expected
    return _apply(actual, op, expected)


def _apply(actual: Any, op: str, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op in _SUBSTRING:
        if not isinstance(actual, str):
            return False
        if op == "co":
            return expected in actual
        return actual.startswith(expected) if op == "sw" else actual.endswith(expected)
    if isinstance(actual, bool):
        return False
    ordering = {"gt": actual > expected, "ge": actual >= expected}
    ordering.update({"lt": actual < expected, "le": actual <= expected})
    return bool(ordering.get(op, False))
