"""The three states of a user's ``active`` attribute and what each grants. Pure.

SCIM's ``active`` is true, false, or unassigned: a PATCH that removes it or sets it to null
leaves it without a value, and the resource then omits it (RFC 7644 §3.5.2.2). Only true
grants access: an unassigned ``active`` is treated as inactive everywhere. The store keeps
access in the user's ``active`` column (true only for true) and marks an unassigned state in
the user's document as ``"active": null``, so no schema change is needed to tell false and
unassigned apart.

What a write leaves when its request carries no ``active`` (``resolve``): a create (POST)
makes an active user, as IdPs that omit it on create mean; a replace (PUT) leaves the state as
it was; a PATCH leaves whatever its operations left, and a PATCH result without ``active``
has had it removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

State = bool | None
"""True, False, or None for unassigned."""
MARK = "active"
"""The document key that, holding null, marks ``active`` as unassigned."""
WRITES = ("create", "replace", "patch")


def stored_state(column: bool, document: Mapping[str, Any]) -> State:
    """The state of a stored user from its ``active`` column and its document."""
    if column:
        return True
    return None if MARK in document and document[MARK] is None else False


def has_access(state: State) -> bool:
    """Only an ``active`` of true lets a user sign in, keep sessions and hold IdP roles."""
    return state is True


def resolve(sent: State, current: State, write: str) -> State:
    """The state a write leaves, ``sent`` being None when the request carried no value."""
    if write not in WRITES:
        raise ValueError(f"unknown write {write!r}")
    if sent is not None:
        return sent
    return {"create": True, "replace": current, "patch": None}[write]


def with_state(document: Mapping[str, Any], state: State) -> dict[str, Any]:
    """``document`` carrying the unassigned mark exactly when ``state`` is unassigned."""
    kept = {key: value for key, value in document.items() if key != MARK}
    if state is None:
        kept[MARK] = None
    return kept


def describe(state: State) -> str:
    """How operators see the state: active, inactive, or unassigned (which grants nothing)."""
    return {True: "active", False: "inactive", None: "unassigned"}[state]


def can_deactivate(state: State, held: bool) -> bool:
    """Whether an operator's deactivation would change anything: it turns access off, or
    places a hold on a user the IdP already deactivated (so the IdP cannot undo it)."""
    return has_access(state) or not held


def can_reactivate(state: State, held: bool) -> bool:
    """Whether an operator's reactivation would change anything: it turns access on, or
    lifts a hold."""
    return not has_access(state) or held
