"""``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9) applied to a SCIM resource.

Names are matched in any case and may be dotted (``name.givenName``) or URN-qualified
(``urn:...:core:2.0:User:userName``, ``urn:...:enterprise:2.0:User:department``, or the
extension URN alone). ``id`` and ``schemas`` are always returned. Names that match nothing are
ignored, as the RFC asks of unknown attributes in these parameters. Pure.
"""

from __future__ import annotations

from typing import Any

from store.domain.json_values import detached

ALWAYS_RETURNED = ("schemas", "id")

Selection = dict[str, Any]  # key -> True (all of it) or a nested Selection


def project(
    resource: dict[str, Any],
    core_schema: str,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> dict[str, Any]:
    if attributes:
        selection: Selection = {}
        for name in attributes:
            parts = _parts(resource, core_schema, name)
            if parts:
                _select_path(selection, parts)
        chosen = _pick(resource, selection)
        kept = {key: resource[key] for key in ALWAYS_RETURNED if key in resource}
        kept.update({k: v for k, v in chosen.items() if k not in kept})
        return _ordered(resource, kept)
    if excluded:
        result: dict[str, Any] = detached(resource)
        for name in excluded:
            parts = _parts(resource, core_schema, name)
            if parts and parts[0] not in ALWAYS_RETURNED:
                _drop(result, parts)
        return result
    return resource


def names(attributes: list[str] | None, core_schema: str, wanted: str) -> bool:
    """Whether ``attributes`` names ``wanted`` itself (a ``returned: "request"`` attribute is
    part of the answer only then, RFC 7643 §7), bare or after the core schema URN."""
    prefix = core_schema.lower() + ":"
    for name in attributes or ():
        name = name.strip().lower()
        if name.removeprefix(prefix) == wanted.lower():
            return True
    return False


def _key(container: Any, name: str) -> str | None:
    """The key of ``container`` equal to ``name`` in any case."""
    if not isinstance(container, dict):
        return None
    lower = name.lower()
    return next((k for k in container if isinstance(k, str) and k.lower() == lower), None)


def _parts(resource: dict[str, Any], core_schema: str, name: str) -> list[str] | None:
    """Canonical key path of ``name`` in ``resource``, or None when it names nothing."""
    name = name.strip()
    extension = _key(resource, name)
    if extension is not None and ":" in extension:
        return [extension]
    path: list[str] = []
    if ":" in name:
        urn, _, name = name.rpartition(":")
        if urn.lower() != core_schema.lower():
            container = _key(resource, urn)
            if container is None:
                return None
            path.append(container)
    attr, _, sub = name.partition(".")
    path.append(attr)
    if sub:
        path.append(sub)
    return path


def _select_path(selection: Selection, parts: list[str]) -> None:
    node = selection
    for i, part in enumerate(parts):
        key = _key(node, part) or part
        if node.get(key) is True:
            return  # an ancestor is already selected whole
        if i == len(parts) - 1:
            node[key] = True
        else:
            node = node.setdefault(key, {})


def _pick(value: Any, selection: Selection | bool) -> Any:
    if selection is True:
        return detached(value)
    if isinstance(value, list):
        items = [_pick(item, selection) for item in value]
        return [item for item in items if item not in (None, {})] or None
    if not isinstance(value, dict):
        return None
    picked: dict[str, Any] = {}
    for name, inner in selection.items():  # type: ignore[union-attr]
        key = _key(value, name)
        if key is not None:
            chosen = _pick(value[key], inner)
            if chosen not in (None, {}, []):
                picked[key] = chosen
    return picked


def _drop(value: Any, parts: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _drop(item, parts)
        return
    key = _key(value, parts[0])
    if key is None:
        return
    if len(parts) == 1:
        del value[key]
        return
    _drop(value[key], parts[1:])
    if value[key] in ({}, []):
        del value[key]


def _ordered(resource: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """Keep the resource's own key order, for readable responses."""
    return {key: kept[key] for key in resource if key in kept}
