"""Why a user's roles changed: the structured cause every role-change audit event carries.

Pure. A cause is a small JSON object with a fixed ``cause`` tag and the ids and names that
explain it, so an auditor (or a script) reads the reason without parsing prose:

- ``group``: a membership change in one group (``group_id``, ``group``);
- ``group.renamed``: the group's name changed (``group_id``, ``group``, ``previous``);
- ``group.deleted``: the group is gone (``group_id``, ``group``);
- ``mapping.set`` / ``mapping.removed``: an operator's mapping edit (``mapping_id``,
  ``group``, ``role``);
- ``manual``: an operator's grant or revoke of a manual role;
- ``deactivation`` / ``reactivation``: the user's active flag (``reason``);
- ``user.deleted``: the user was deleted (``user_id``);
- ``connection.transferred``: an operator moved groups to another connection (``from``,
  ``to``);
- ``reconcile``: the worker repaired drift.

Each IdP role assignment added or removed is listed with the mapping row that gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Cause = dict[str, Any]

RECONCILE: Cause = {"cause": "reconcile"}
MANUAL: Cause = {"cause": "manual"}


def group(group_id: str, name: str) -> Cause:
    return {"cause": "group", "group_id": group_id, "group": name}


def group_renamed(group_id: str, name: str, previous: str) -> Cause:
    return {"cause": "group.renamed", "group_id": group_id, "group": name, "previous": previous}


def group_deleted(group_id: str, name: str) -> Cause:
    return {"cause": "group.deleted", "group_id": group_id, "group": name}


def mapping(edit: str, mapping_id: int, group_name: str, role: str) -> Cause:
    return {"cause": f"mapping.{edit}", "mapping_id": mapping_id, "group": group_name, "role": role}


def lifecycle(active: bool, reason: str) -> Cause:
    return {"cause": "reactivation" if active else "deactivation", "reason": reason}


def user_deleted(user_id: str) -> Cause:
    return {"cause": "user.deleted", "user_id": user_id}


def transferred(source: str, target: str) -> Cause:
    """An operator handed one connection's groups to another: the target's mapping rows
    now decide their members' roles."""
    return {"cause": "connection.transferred", "from": source, "to": target}


def grants(
    pairs: Iterable[tuple[str, str]], table: Mapping[str, Mapping[str, int]]
) -> list[dict[str, Any]]:
    """(role, folded group name) pairs as sorted JSON, each with the id of the mapping row
    that gives it (None when that row is gone, as after a mapping removal)."""
    return [
        {"role": role, "group_key": key, "mapping_id": table.get(key, {}).get(role)}
        for role, key in sorted(pairs)
    ]


def recomputed(
    held: Iterable[tuple[str, str]],
    wanted: Iterable[tuple[str, str]],
    added: Iterable[tuple[str, str]],
    removed: Iterable[tuple[str, str]],
    table: Mapping[str, Mapping[str, int]],
    cause: Cause,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The ``roles.recomputed`` event's before, after and detail, from (role, folded group
    name) pairs: held before, wanted now, and the ones added and removed."""
    added, removed = list(added), list(removed)
    after = {
        "roles": sorted({role for role, _ in wanted}),
        "cause": cause,
        "added": grants(added, table),
        "removed": grants(removed, table),
    }
    detail = f"+{len(added)} -{len(removed)} IdP role assignment(s): {describe(cause)}"
    return {"roles": sorted({role for role, _ in held})}, after, detail


def describe(cause: Cause) -> str:
    """One line for the audit event's detail: the tag and its most telling value."""
    tag = str(cause.get("cause", "?"))
    for field in ("group", "reason", "user_id"):
        if field in cause:
            return f"{tag} '{cause[field]}'"
    return tag
