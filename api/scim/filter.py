"""SCIM filters: text -> the store-neutral criteria tree, and value filters in memory.

``parse_filter`` resolves every attribute and value by the catalogue's rules
(``store.domain.criteria.FilterRules``): an attribute outside it is a 400 invalidFilter naming
it, never a silently ignored condition, and values are coerced to the attribute's type, so the
store's query compiler receives only checked, well-typed comparisons. ``matches`` evaluates
the value filter of a PATCH path against one element of a multi-valued attribute. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.scim.errors import invalid_filter
from api.scim.filter_lexer import tokenize
from api.scim.filter_parser import Parser
from api.scim.paths import PatchPath, parse_path  # noqa: F401  (part of this module's API)
from store.domain import limits
from store.domain.criteria import (
    RESOURCES,
    And,
    Criteria,
    FilterError,
    FilterRules,
    Not,
    Or,
    Present,
    ValuePath,
)
from store.domain.names import fold

_SUBSTRING = ("co", "sw", "ew")


def parse_filter(
    text: str,
    resource: str,
    max_length: int = limits.FILTER_LENGTH,
    max_depth: int = limits.FILTER_DEPTH,
) -> Criteria:
    """Parse a SCIM filter for ``resource`` ("User" or "Group") into criteria that follow
    ``store.domain.criteria.FilterRules`` (the store compiles them without checking again)."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown resource type {resource!r}")
    if not isinstance(text, str):
        raise invalid_filter("filter must be a string")
    if len(text) > max_length:
        raise invalid_filter(f"filter is longer than {max_length} characters")
    if not text.strip():
        raise invalid_filter("filter is empty")
    parser = Parser(tokenize(text, invalid_filter), _RESOLVERS[resource], invalid_filter,
                    max_depth, limits.FILTER_COMPARISONS)  # fmt: skip
    criteria = parser.filter()
    if parser.peek.kind != "end":
        raise parser.unexpected(parser.peek, "'and', 'or' or the end of the filter")
    return criteria


class _CatalogueResolver:
    """Names and values resolved by the catalogue's rules; a refusal is 400 invalidFilter."""

    def __init__(self, resource: str) -> None:
        self.rules = FilterRules(resource)

    def attribute(self, name: str, pos: int) -> str:
        return _ruled(self.rules.attribute, name)

    def value_path(self, name: str, pos: int) -> str:
        return _ruled(self.rules.value_path, name)

    def sub_attribute(self, parent: str, name: str, pos: int) -> str:
        return _ruled(lambda n: self.rules.sub_attribute(parent, n), name)

    def value(self, attribute: str, op: str, value: Any, pos: int) -> Any:
        try:
            return self.rules.value(attribute, op, value)
        except FilterError as error:
            raise invalid_filter(f"{error} at character {pos + 1}") from None


_RESOLVERS = {resource: _CatalogueResolver(resource) for resource in RESOURCES}
"""One per resource type: a resolver holds only the catalogue's fixed rules."""


def _ruled(rule: Callable[[str], str], name: str) -> str:
    try:
        return rule(name)
    except FilterError as error:
        raise invalid_filter(str(error)) from None


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
