"""A store-neutral filter tree and the catalogue of attributes a filter may name.

The SCIM filter parser (``api/scim/filter.py``) produces these nodes; the store's query
compiler (``store/queries/filtering.py``) turns them into SQL with bound parameters. Neither
side accepts an attribute that is not in the catalogue below: that is what makes an unknown
attribute a clear 400 invalidFilter instead of a silently ignored condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

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
