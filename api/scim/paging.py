"""Query parameters of list and search requests (RFC 7644 §3.4.2.3-§3.4.3, §3.9).

Paging follows §3.4.2.4 to the letter: ``startIndex`` is 1-based and below 1 means 1,
``count`` below 0 means 0 and above the advertised maximum is capped. ``sortBy`` accepts the
sortable names of the store's catalogue. ``search_request_from_body`` reads the body of
``POST /.search``, which keeps filters out of URLs and logs. Pure: raises only ``ScimError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from api.scim.errors import invalid_syntax, invalid_value
from api.scim.urns import GROUP, SEARCH_REQUEST, USER
from store.domain.criteria import GROUP_SORTABLE, USER_SORTABLE, Sort

MAX_START_INDEX = 2**53
"""Larger start indexes are clamped: they are past any result set, and stay a safe integer."""

_INTEGER = re.compile(r"[ \t]*([+-]?)([0-9]+)[ \t]*")
_SORTABLE = {"User": (USER, USER_SORTABLE), "Group": (GROUP, GROUP_SORTABLE)}


def _integer(value: str | int | None, name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # "?count=" is the same as no count
    if isinstance(value, bool):
        raise invalid_value(f'"{name}" must be an integer')
    if isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)  # the usual "1", "100": plain ASCII digits, nothing to clamp
    match = _INTEGER.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise invalid_value(f'"{name}" must be an integer, got {str(value)[:40]!r}')
    sign, digits = match.groups()
    digits = digits.lstrip("0") or "0"
    number = int(digits) if len(digits) <= 18 else MAX_START_INDEX  # clamped below anyway
    return -number if sign == "-" else number


def parse_paging(
    start_index: str | int | None,
    count: str | int | None,
    max_results: int,
    default_count: int = 100,
) -> tuple[int, int]:
    """``(startIndex, count)`` as the query must use them."""
    start = _integer(start_index, "startIndex")
    size = _integer(count, "count")
    start = 1 if start is None or start < 1 else min(start, MAX_START_INDEX)
    size = default_count if size is None else max(size, 0)
    return start, min(size, max_results)


def parse_sort(sort_by: str | None, sort_order: str | None, resource: str) -> Sort | None:
    """``sortBy``/``sortOrder`` as a store ``Sort`` (None: the store's stable default)."""
    if sort_by is None or not str(sort_by).strip():
        return None
    urn, sortable = _SORTABLE[resource]
    if not isinstance(sort_by, str):
        raise invalid_value('"sortBy" must be an attribute name')
    name = sort_by.strip()
    prefix, colon, attr = name.rpartition(":")
    if colon and prefix.lower() == urn.lower():
        name = attr
    canonical = next((s for s in sortable if s.lower() == name.lower()), None)
    if canonical is None:
        raise invalid_value(f'cannot sort by "{sort_by}"; sortable: {", ".join(sortable)}')
    order = sort_order.strip().lower() if isinstance(sort_order, str) else sort_order
    order = order or "ascending"
    if order not in ("ascending", "descending"):
        raise invalid_value('"sortOrder" must be "ascending" or "descending"')
    return Sort(canonical, descending=order == "descending")


_ATTRIBUTE_NAME = r"(?:[A-Za-z][\w\-]*|\$ref)"
_ATTRIBUTE_PATH = re.compile(
    rf"(?:[Uu][Rr][Nn]:[A-Za-z0-9][\w\-.:]*:)?{_ATTRIBUTE_NAME}(?:\.{_ATTRIBUTE_NAME})?"
)
"""RFC 7644 §3.10 attribute notation: ``[schema URN:]name[.subName]`` (a URN alone included)."""


def parse_attribute_list(text: str | list[str] | None, name: str = "attributes") -> list[str]:
    """``attributes=a,b.c`` (or the array form of a search body) as a list of names.

    Each entry must be an attribute path (§3.10); anything else, such as a filter expression
    given by mistake, is 400 invalidValue rather than a silently empty projection. Names that
    are well formed but unknown still match nothing and are ignored."""
    if text is None:
        return []
    items = text if isinstance(text, list) else str(text).split(",")
    if not all(isinstance(item, str) for item in items):
        raise invalid_value("attribute lists must hold attribute names")
    names = [item.strip() for item in items if item.strip()]
    for entry in names:
        if not _ATTRIBUTE_PATH.fullmatch(entry):
            shown = entry if len(entry) <= 80 else entry[:77] + "..."
            raise invalid_value(f'"{name}" must list attribute names; {shown!r} is not one')
    return names


@dataclass(frozen=True)
class SearchRequest:
    """The body of ``POST /Users/.search`` / ``/.search``; paging still goes through
    ``parse_paging`` (start_index and count are the raw integers, None when absent)."""

    filter: str | None = None
    start_index: int | None = None
    count: int | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    attributes: list[str] = field(default_factory=list)
    excluded_attributes: list[str] = field(default_factory=list)


_SEARCH_FIELDS = {
    "filter": str,
    "startindex": int,
    "count": int,
    "sortby": str,
    "sortorder": str,
}


def search_request_from_body(body: Any) -> SearchRequest:
    if not isinstance(body, dict):
        raise invalid_syntax("the request body must be a JSON object")
    fields = {k.lower(): v for k, v in body.items() if isinstance(k, str)}
    schemas = fields.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list) or SEARCH_REQUEST.lower() not in _lowered(schemas)
    ):
        raise invalid_syntax(f'"schemas" must include "{SEARCH_REQUEST}"')
    values: dict[str, Any] = {}
    for key, kind in _SEARCH_FIELDS.items():
        value = fields.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            what = "an integer" if kind is int else "a string"
            raise invalid_value(f'"{key}" must be {what}')
        values[key] = value
    return SearchRequest(
        filter=values["filter"],
        start_index=values["startindex"],
        count=values["count"],
        sort_by=values["sortby"],
        sort_order=values["sortorder"],
        attributes=parse_attribute_list(fields.get("attributes")),
        excluded_attributes=parse_attribute_list(
            fields.get("excludedattributes"), "excludedAttributes"
        ),
    )


def _lowered(items: list[Any]) -> set[str]:
    return {item.lower() for item in items if isinstance(item, str)}
