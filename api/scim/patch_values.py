"""Value helpers of the PATCH engine: schema coercion and multi-valued bookkeeping.

``coerce`` turns what IdPs send into the schema's types before a value is placed (Entra's
"True"/"False" strings, a bare-string manager, sub-attribute names in any case);
``merge_elements`` adds values to a multi-valued attribute without duplicates;
``one_primary`` keeps at most one ``primary: true``. Pure: raises only ``ScimError``.
"""

from __future__ import annotations

from typing import Any

from api.scim.attributes import Attr
from api.scim.errors import invalid_value
from api.scim.filter import matches
from store.domain.criteria import And, Compare, Criteria
from store.domain.names import fold


def coerce(attr: Attr, value: Any, sub: str | None = None) -> Any:
    """``value`` for ``attr`` (or its sub-attribute ``sub``) in the schema's types."""
    if value is None:
        return None
    if sub is not None:
        sub_attr = attr.sub(sub)
        return _single(sub_attr, value) if sub_attr else value
    if not attr.multi_valued:
        return _single(attr, value)
    if isinstance(value, list):
        return [_single(attr, item) for item in value]
    return _single(attr, value)


def _single(attr: Attr, value: Any) -> Any:
    if attr.type == "boolean" and isinstance(value, str):
        lowered = value.strip().lower()
        return lowered == "true" if lowered in ("true", "false") else value
    if not attr.complex or value is None:
        return value
    if isinstance(value, str) and not attr.multi_valued and attr.sub("value"):
        return {"value": value}  # Entra's bare-string manager
    if not isinstance(value, dict):
        raise invalid_value(f'"{attr.name}" values must be objects')
    result = {}
    for key, item in value.items():
        sub_attr = attr.sub(key) if isinstance(key, str) else None
        result[sub_attr.name if sub_attr else key] = _single(sub_attr, item) if sub_attr else item
    return result


def eq_fields(criteria: Criteria | None) -> dict[str, Any] | None:
    """``type eq "work" and primary eq true`` -> ``{"type": "work", "primary": True}``;
    None when the filter is anything but a conjunction of equalities."""
    if isinstance(criteria, Compare) and criteria.op == "eq":
        return {criteria.attribute: criteria.value}
    if isinstance(criteria, And):
        left, right = eq_fields(criteria.left), eq_fields(criteria.right)
        return None if left is None or right is None else {**left, **right}
    return None


def same_fields(item: Any, selector: Any) -> bool:
    """Whether ``item`` has every field of ``selector`` (strings compared in any case)."""
    if not isinstance(item, dict) or not isinstance(selector, dict) or not selector:
        return bool(item == selector)
    return all(
        isinstance(k, str) and matches(Compare(k, "eq", v), item) for k, v in selector.items()
    )


def _identity(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    value, kind = item.get("value"), item.get("type")
    keys = [fold(v) if isinstance(v, str) else v for v in (value, kind)]
    return ("element", repr(keys))


def merge_elements(items: list[Any], added: list[Any]) -> tuple[list[Any], list[Any]]:
    """``items`` with ``added`` appended, an element with the same value and type updated in
    place instead of repeated (JumpCloud repeats its adds). Returns the list and the elements
    that were added or updated."""
    result = list(items)
    touched: list[Any] = []
    for new in added:
        existing = next((i for i in result if _identity(i) == _identity(new)), None)
        if isinstance(existing, dict) and isinstance(new, dict):
            existing.update(new)
            touched.append(existing)
        elif existing is None:
            result.append(new)
            touched.append(new)
    return result, touched


def one_primary(items: list[Any], touched: list[Any], name: str) -> None:
    """``primary: true`` on a written value clears it on the others (RFC 7644 §3.5.2)."""
    chosen = [t for t in touched if isinstance(t, dict) and t.get("primary") is True]
    if len(chosen) > 1:
        raise invalid_value(f'"{name}" would have more than one value with primary true')
    if not chosen:
        return
    for item in items:
        if isinstance(item, dict) and item is not chosen[0] and item.get("primary") is True:
            item["primary"] = False
