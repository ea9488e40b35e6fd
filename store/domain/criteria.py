"""A store-neutral filter tree, the catalogue of attributes a filter may name, and the rules
that check a filter against it.

The catalogue below is the one list of filterable attributes: the SCIM filter parser
(``api/scim/filter.py``) resolves names and values through ``FilterRules`` while it parses,
``check`` applies the same rules to a tree built by other code, and the store's query compiler
(``store/queries/filtering.py``) derives its column catalogue from it and compiles only trees
that passed those rules, without checking them again. An attribute outside the catalogue is a
clear 400 invalidFilter, never a silently ignored condition. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from store.domain import limits
from store.domain.text import text_problem

Value = str | bool | int | float | datetime | None

COMPARISON_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")


class AttrType(Enum):
    STRING = "string"  # compared case-insensitively (caseExact false)
    EXACT = "exact"  # string compared case-exactly (id, externalId, member ids)
    BOOLEAN = "boolean"
    DATETIME = "dateTime"


@dataclass(frozen=True)
class Compare:
    """``attribute op value``; attribute is a canonical name from the catalogue."""

    attribute: str
    op: str
    value: Value


@dataclass(frozen=True)
class Present:
    """``attribute pr``: the attribute has a non-empty value."""

    attribute: str


@dataclass(frozen=True)
class And:
    left: Criteria
    right: Criteria


@dataclass(frozen=True)
class Or:
    left: Criteria
    right: Criteria


@dataclass(frozen=True)
class Not:
    inner: Criteria


@dataclass(frozen=True)
class ValuePath:
    """``emails[type eq "work" and value co "@x"]``: one element of a multi-valued
    attribute satisfies ``inner`` (whose attributes are the sub-attribute names)."""

    attribute: str
    inner: Criteria


Criteria = Compare | Present | And | Or | Not | ValuePath

# Canonical attribute name -> type, per resource type. Multi-valued complex attributes list
# their sub-attributes under "<attr>.<sub>"; the bare name means its "value" sub-attribute.
USER_ATTRIBUTES: dict[str, AttrType] = {
    "id": AttrType.EXACT,
    "userName": AttrType.STRING,
    "externalId": AttrType.EXACT,
    "displayName": AttrType.STRING,
    "active": AttrType.BOOLEAN,
    "name.givenName": AttrType.STRING,
    "name.familyName": AttrType.STRING,
    "emails.value": AttrType.STRING,
    "emails.type": AttrType.STRING,
    "emails.primary": AttrType.BOOLEAN,
    "meta.created": AttrType.DATETIME,
    "meta.lastModified": AttrType.DATETIME,
}

GROUP_ATTRIBUTES: dict[str, AttrType] = {
    "id": AttrType.EXACT,
    "displayName": AttrType.STRING,
    "externalId": AttrType.EXACT,
    "members.value": AttrType.EXACT,
    "meta.created": AttrType.DATETIME,
    "meta.lastModified": AttrType.DATETIME,
}

MULTI_VALUED = {"emails", "members"}
"""Attributes a value path (``attr[...]``) may address."""

USER_SORTABLE = ("id", "userName", "externalId", "displayName", "meta.created", "meta.lastModified")
GROUP_SORTABLE = ("id", "displayName", "externalId", "meta.created", "meta.lastModified")


@dataclass(frozen=True)
class Sort:
    attribute: str  # canonical, one of the *_SORTABLE names
    descending: bool = False


# ---- the rules a filter follows ---------------------------------------------------------------

RESOURCES: dict[str, tuple[str, dict[str, AttrType]]] = {
    "User": ("urn:ietf:params:scim:schemas:core:2.0:User", USER_ATTRIBUTES),
    "Group": ("urn:ietf:params:scim:schemas:core:2.0:Group", GROUP_ATTRIBUTES),
}
_SUBSTRING = ("co", "sw", "ew")


class FilterError(ValueError):
    """A filter naming what the catalogue does not have, or comparing a value its attribute
    cannot take; the message says which (the SCIM edge answers 400 invalidFilter)."""


class FilterRules:
    """What a filter on one resource type ("User" or "Group") may name and compare. Every
    method returns the canonical form (names as the catalogue spells them, values of the
    attribute's type) or raises ``FilterError``."""

    def __init__(self, resource: str) -> None:
        if resource not in RESOURCES:
            raise ValueError(f"unknown resource type {resource!r}")
        self.urn, self.catalogue = RESOURCES[resource]
        self.names = {name.lower(): name for name in self.catalogue}

    def _bare(self, name: str) -> str:
        """``urn:...:User:userName`` -> ``userName``; another schema's URN keeps its prefix
        so that the lookup fails and the error names exactly what the client sent."""
        urn, colon, attr = name.rpartition(":")
        if colon and urn.lower() == self.urn.lower():
            return attr
        return name

    def attribute(self, name: str) -> str:
        """A top-level attribute path (``emails`` means ``emails.value``)."""
        key = self._bare(name).lower()
        if key in self.names:
            return self.names[key]
        if f"{key}.value" in self.names and key in {m.lower() for m in MULTI_VALUED}:
            return self.names[f"{key}.value"]
        raise FilterError(f'unsupported filter attribute "{name}"')

    def value_path(self, name: str) -> str:
        """A multi-valued attribute opening ``[...]``."""
        key = self._bare(name).lower()
        for multi in MULTI_VALUED:
            if multi.lower() == key and f"{key}.value" in self.names:
                return multi
        if key in self.names:
            raise FilterError(f'"{name}" is not multi-valued: it cannot take a value filter')
        raise FilterError(f'unsupported filter attribute "{name}"')

    def sub_attribute(self, parent: str, name: str) -> str:
        """A sub-attribute inside ``parent[...]`` (``value``, or ``emails.value`` spelt out)."""
        key = name.lower()
        if not key.startswith(f"{parent.lower()}."):
            key = f"{parent}.{name}".lower()
        if key in self.names:
            return self.names[key].partition(".")[2]
        raise FilterError(f'unsupported filter attribute "{parent}.{name}"')

    def value(self, attribute: str, op: str, value: Any) -> Value:
        """The comparison value for ``attribute`` (full dotted name) checked and coerced."""
        kind = self.catalogue[attribute]
        where = f"for {attribute}"
        if value is None:
            raise FilterError(f"null is not a comparison value {where}; use 'pr' instead")
        if isinstance(value, str) and (problem := text_problem(value)) is not None:
            raise FilterError(f"the value {where} {problem}")
        if kind is AttrType.BOOLEAN:
            return _boolean(op, value, where)
        if kind is AttrType.DATETIME:
            return _datetime(op, value, where)
        if not isinstance(value, str):
            raise FilterError(f"expected a string {where}")
        return value


def _boolean(op: str, value: Any, where: str) -> bool:
    if op not in ("eq", "ne"):
        raise FilterError(f"operator '{op}' cannot compare booleans {where}")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise FilterError(f"expected true or false {where}")
    return value


def _datetime(op: str, value: Any, where: str) -> datetime:
    """Naive UTC, as the store keeps timestamps."""
    if op in _SUBSTRING:
        raise FilterError(f"operator '{op}' cannot compare dateTime values {where}")
    if not isinstance(value, str | datetime) or isinstance(value, bool):
        raise FilterError(f"expected an ISO 8601 dateTime string {where}")
    try:
        parsed = datetime.fromisoformat(value.strip()) if isinstance(value, str) else value
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise FilterError(f'invalid dateTime "{value}" {where}') from None
    return parsed


def check(criteria: Criteria, resource: str) -> Criteria:
    """``criteria`` (built by code, not parsed) in canonical form, by the rules the parser
    applies: catalogue names, known operators, values of the attribute's type, value paths
    only on multi-valued attributes and not nested, at most ``limits.FILTER_COMPARISONS``
    comparisons and ``limits.TREE_DEPTH`` levels. Walks without recursion."""
    rules = FilterRules(resource)
    done: list[Criteria] = []
    work: list[_Step] = [_Step(criteria, None, 0)]
    comparisons = 0
    while work:
        step = work.pop()
        node = step.node
        if isinstance(node, Compare | Present):
            comparisons += 1
            if comparisons > limits.FILTER_COMPARISONS:
                raise FilterError(
                    f"the filter has more than {limits.FILTER_COMPARISONS} comparisons"
                )
            done.append(_leaf(rules, node, step.scope))
        elif step.children_done:
            done.append(_rebuilt(rules, node, done))
        else:
            if step.depth > limits.TREE_DEPTH:
                raise FilterError(f"the filter nests deeper than {limits.TREE_DEPTH} levels")
            work.append(_Step(node, step.scope, step.depth, True))
            work.extend(_children(rules, step))
    return done[0]


@dataclass(frozen=True)
class _Step:
    node: Criteria
    scope: str | None  # the multi-valued attribute a value path opened
    depth: int
    children_done: bool = False


def _children(rules: FilterRules, step: _Step) -> list[_Step]:
    """The operands still to check, last first (the walk pops them in order). A run of
    ``and`` (or of ``or``) is one level, however long."""
    node, scope, deeper = step.node, step.scope, step.depth + 1
    if isinstance(node, And | Or):
        return [
            _Step(operand, scope, step.depth if type(operand) is type(node) else deeper)
            for operand in (node.right, node.left)
        ]
    if isinstance(node, Not):
        return [_Step(node.inner, scope, deeper)]
    if isinstance(node, ValuePath):
        if scope is not None:
            raise FilterError("value filters cannot be nested")
        return [_Step(node.inner, rules.value_path(node.attribute), deeper)]
    raise FilterError("the filter has an unsupported shape")


def _rebuilt(rules: FilterRules, node: Criteria, done: list[Criteria]) -> Criteria:
    if isinstance(node, And | Or):
        right, left = done.pop(), done.pop()
        return type(node)(left, right)
    if isinstance(node, Not):
        return Not(done.pop())
    assert isinstance(node, ValuePath)
    return ValuePath(rules.value_path(node.attribute), done.pop())


def _leaf(rules: FilterRules, node: Compare | Present, scope: str | None) -> Criteria:
    if scope is None:
        name = full = rules.attribute(node.attribute)
    else:
        name = rules.sub_attribute(scope, node.attribute)
        full = f"{scope}.{name}"
    if isinstance(node, Present):
        return Present(name)
    op = node.op.lower() if isinstance(node.op, str) else ""
    if op not in COMPARISON_OPERATORS:
        raise FilterError(f"unknown operator {node.op!r}")
    return Compare(name, op, rules.value(full, op, node.value))
