"""JSON values as the store and the SCIM core hold them: dicts, lists, strings, numbers,
booleans and None."""

from __future__ import annotations

from typing import Any


def detached(value: Any) -> Any:
    """A deep copy of a JSON value made of plain dicts and lists (a Pony tracked dict or list
    becomes a plain one); strings, numbers, booleans and None are immutable and shared.
    Several times cheaper than ``copy.deepcopy``, which a JSON value does not need."""
    if isinstance(value, dict):
        return {key: detached(item) for key, item in value.items()}
    if isinstance(value, list):
        return [detached(item) for item in value]
    return value
