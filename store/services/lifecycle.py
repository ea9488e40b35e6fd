"""The identity lifecycle: the one implementation of deactivation, reactivation and role
recomputation that the API, the worker and the operator UI all go through.

Functions taking an entity run inside the caller's transaction and expect the user row to
be locked by the caller (``lock_user``) so that a deactivation and a concurrent membership
change cannot interleave and leave an IdP role on an inactive user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from store import entities
from store.context import Store
from store.domain import causes, limits
from store.domain.active import stored_state, with_state
from store.domain.enums import AuditAction, GrantSource
from store.domain.ids import is_resource_id
from store.domain.roles import IdpGrant, MappingKey, diff_grants, idp_grants
from store.domain.scope import OPERATOR, Scope
from store.errors import NotFound, PreconditionFailed
from store.queries.filtering import fetch_rows, sql_timestamp
from store.records import ExpectedVersions
from store.services.audit import record_event
from store.sql import execute, in_write_transaction
from store.tx import transaction

IDP = GrantSource.IDP
MANUAL = GrantSource.MANUAL
SUSPENDED = GrantSource.SUSPENDED
"""A manual grant held back after the user's userName changed: kept on record, never
effective (sessions do not carry it) until an operator confirms it with ``role grant``."""


def lock_user(store: Store, user_id: str, scope: Scope = OPERATOR) -> entities.User:
    """The live (not deleted) user row ``scope`` sees, locked for this transaction, or
    NotFound (another connection's user is not found either)."""
    user = store.db.User.get_for_update(id=user_id) if is_resource_id(user_id) else None
    if user is None or user.deleted_at is not None or not scope.sees(user.connection.id):
        raise NotFound(f"user {user_id} not found")
    return user


def visible_user(store: Store, user_id: str, scope: Scope = OPERATOR) -> entities.User:
    """The live user row ``scope`` sees (not locked), or NotFound."""
    user = store.db.User.get(id=user_id) if is_resource_id(user_id) else None
    if user is None or user.deleted_at is not None or not scope.sees(user.connection.id):
        raise NotFound(f"user {user_id} not found")
    return user


_MAPPING = 'SELECT "connection_id", "group_name_key", "role", "id" FROM "sso_group_role_mapping"'
MappingTable = dict[MappingKey, dict[str, int]]
"""(connection id or None for any, folded IdP group name) -> {role name: mapping row id}."""
_NAME_LOCK = "SELECT pg_advisory_xact_lock(727274, $lock_key)"
_NAME_LOCK_SHARED = "SELECT pg_advisory_xact_lock_shared(727274, $lock_key)"
_CONNECTION_NAME_LOCK = "SELECT pg_advisory_xact_lock(727275, $lock_key)"
_MAPPING_EDITS_LOCK = "SELECT pg_advisory_xact_lock(727273)"


def mapping_table(store: Store) -> MappingTable:
    """The SSO group-to-role mapping. Whoever decides roles from it for a group name holds
    that name's lock (``lock_group_names``) from before this read until commit."""
    table: MappingTable = {}
    for connection_id, key, role, mapping_id in fetch_rows(store, _MAPPING, {}):
        owner = None if connection_id is None else int(connection_id)
        table.setdefault((owner, key), {})[role] = int(mapping_id)
    return table


def by_group_name(table: MappingTable) -> dict[str, dict[str, int]]:
    """Folded group name -> {role: mapping row id}, for the audit of a recomputation (which
    names a mapping row per grant): a row for any connection before one for a single one."""
    flat: dict[str, dict[str, int]] = {}
    for (_connection, key), roles in sorted(table.items(), key=lambda i: i[0][0] is not None):
        for role, mapping_id in roles.items():
            flat.setdefault(key, {}).setdefault(role, mapping_id)
    return flat


def _lock_key(text: str) -> int:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def lock_group_names(store: Store, keys: Iterable[str], connection_id: int | None = None) -> None:
    """Serialise everything that ties a folded group name to roles: mapping edits of that
    name, and creating, renaming or deleting a group to or from it (or changing its
    members). Taken in sorted order, after the group's row lock and before the mapping is
    read, held until commit. PostgreSQL: transaction-scoped advisory locks. A group change
    (``connection_id`` given) holds each name shared and (connection, name) exclusively, so
    two IdPs' groups of one name never wait for each other while one IdP's changes of one
    name serialise; a mapping edit or a transfer (no connection) holds the name exclusively,
    which waits for every connection's group changes of that name. SQLite: the database's
    single writer lock, taken now (BEGIN IMMEDIATE) instead of at the first write, so the
    mapping read after it is the one the transaction writes against."""
    if store.provider != "postgres":
        if not in_write_transaction(store.db):  # a row lock taken before holds it already
            execute(store.db, "SELECT 1")  # Pony opens the IMMEDIATE transaction for raw SQL
        return
    for key in sorted(set(keys)):
        if connection_id is None:
            execute(store.db, _NAME_LOCK, {"lock_key": _lock_key(key)})
            continue
        execute(store.db, _NAME_LOCK_SHARED, {"lock_key": _lock_key(key)})
        owned = _lock_key(f"{int(connection_id)}\x00{key}")
        execute(store.db, _CONNECTION_NAME_LOCK, {"lock_key": owned})


def lock_mapping_edits(store: Store) -> None:
    """Mapping edits (and the batches they queue, and transfers of groups) run one at a
    time across processes. On SQLite the single writer lock does it (``lock_group_names``)."""
    if store.provider == "postgres":
        execute(store.db, _MAPPING_EDITS_LOCK)


def recompute_user_roles(
    store: Store,
    user: entities.User,
    actor: str,
    mapping: MappingTable | None = None,
    *,
    cause: causes.Cause,
) -> int:
    """Bring the user's IdP-derived role assignments in line with memberships and the
    mapping; manual assignments are never touched. Returns how many rows changed. The audit
    event names the ``cause`` and each assignment added or removed with its mapping row."""
    live = user.active and user.deleted_at is None
    groups: list[tuple[int, str]] = []
    if live:  # an inactive user is granted nothing: its groups and the mapping do not count
        if mapping is None:
            mapping = mapping_table(store)
        found = fetch_rows(store, _GROUPS, {"uid": user.id})
        groups = [(int(connection_id), key) for connection_id, key in found]
    wanted = idp_grants(live, groups, mapping or {})
    held = fetch_rows(store, _IDP_ROWS, {"uid": user.id, "idp": IDP})
    rows = {IdpGrant(role, via): int(row_id) for row_id, role, via in held}
    diff = diff_grants(rows.keys(), wanted)
    if not diff.changed:
        return 0
    if mapping is None:  # the audit names the mapping row of each grant removed
        mapping = mapping_table(store)
    now = store.clock()
    for grant in diff.remove:
        store.db.RoleAssignment[rows[grant]].delete()
    for grant in diff.add:
        role = store.db.Role.get(name=grant.role)
        if role is None:  # mapping rows reference roles, so only a racing role delete gets here
            continue
        store.db.RoleAssignment(
            user=user,
            role=role,
            source=IDP,
            via_group=grant.via_group,
            created=now,
            granted_by=actor,
        )
    before, after, detail = causes.recomputed(
        grant_pairs(rows),
        grant_pairs(wanted),
        grant_pairs(diff.add),
        grant_pairs(diff.remove),
        by_group_name(mapping),
        cause,
    )
    record_event(
        store, actor, AuditAction.ROLES_RECOMPUTED, "user", user.id, user.user_name,
        before=before, after=after, detail=detail,
    )  # fmt: skip
    return diff.changed


# What a recomputation reads, as bound statements (loading the user's memberships and
# assignments as Pony entities cost more than the rest of a deactivation). Pony writes its
# pending changes before any statement runs, so these see the transaction's own changes.
_GROUPS = (
    'SELECT g."connection_id", g."display_name_key" FROM "scim_membership" m '
    'JOIN "scim_group" g ON g."id" = m."group" WHERE m."user" = $uid'
)
_IDP_ROWS = (
    'SELECT "id", "role", "via_group" FROM "control_role_assignment" '
    'WHERE "user" = $uid AND "source" = $idp'
)


def grant_pairs(grants: Iterable[IdpGrant]) -> list[tuple[str, str]]:
    """Grants as the (role, folded group name) pairs ``causes.recomputed`` takes."""
    return [(g.role, g.via_group) for g in grants]


_END_SESSIONS = (
    'UPDATE "control_session" SET "ended_at" = $now, "end_reason" = $reason '
    'WHERE "user" = $user_id AND "ended_at" IS NULL'
)


def end_user_sessions(store: Store, user: entities.User, reason: str) -> int:
    """End every open session of the user; their next request is sent to sign in. One
    statement, whatever the number of sessions (no caller holds Session entities of the user
    in the same transaction, which would not see it)."""
    params = {
        "now": sql_timestamp(store, store.clock()),
        "reason": reason[: limits.SESSION_END],
        "user_id": user.id,
    }
    return execute(store.db, _END_SESSIONS, params).rowcount


def set_active(store: Store, user: entities.User, active: bool, actor: str, reason: str) -> bool:
    """Apply an active flag to a locked user row with all of its effects. Returns whether the
    flag changed. Deactivation: inactive, sessions ended, IdP roles removed, manual roles and
    memberships kept. Reactivation: IdP roles restored from the kept memberships."""
    if user.active == active:
        if not active:
            # Belt and braces: an already inactive user must not keep a session or IdP role.
            end_user_sessions(store, user, reason)
            recompute_user_roles(store, user, actor, cause=causes.lifecycle(False, reason))
        return False
    user.active = active
    ended = 0 if active else end_user_sessions(store, user, reason)
    # IdP roles go, or come back from the kept memberships
    recompute_user_roles(store, user, actor, cause=causes.lifecycle(active, reason))
    record_event(
        store,
        actor,
        AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED,
        "user",
        user.id,
        user.user_name,
        before={"active": not active},
        after={"active": active},
        detail=reason if active else f"{reason}; {ended} session(s) ended",
    )
    return True


def after_rename(store: Store, user: entities.User, previous_name: str, actor: str) -> int:
    """After a userName change (a different folded key) of a locked user: the person signed
    in under the old name need not be the one the new name stands for, and a session check
    answers with the user's current userName, so every open session ends (a session must
    never come to speak for another name); manual roles are suspended
    (``suspend_manual_roles``). Returns how many sessions ended; audited when any did."""
    suspend_manual_roles(store, user, previous_name, actor)
    ended = end_user_sessions(store, user, "userName changed")
    if ended:
        record_event(
            store, actor, AuditAction.SESSIONS_ENDED, "user", user.id, user.user_name,
            detail=f"{ended} session(s) ended: userName changed from '{previous_name}'",
        )  # fmt: skip
    return ended


def suspend_manual_roles(store: Store, user: entities.User, previous_name: str, actor: str) -> None:
    """After a userName change (a different folded key) of a locked user: the person who
    signs in under the new name need not be the one an operator granted manual roles to,
    so those grants stop counting until an operator confirms them. Audited as
    ``user.renamed`` with both names and the manual roles held."""
    rows = [a for a in user.role_assignments if a.source in (MANUAL, SUSPENDED)]
    if not rows:
        return
    held = sorted({a.role.name for a in rows})
    suspended = {a.role.name for a in rows if a.source == SUSPENDED}
    for row in rows:
        if row.source != MANUAL:
            continue
        if row.role.name in suspended:
            row.delete()  # its suspended twin already keeps the record
        else:
            row.source = SUSPENDED
    record_event(
        store, actor, AuditAction.USER_RENAMED, "user", user.id, user.user_name,
        before={"userName": previous_name},
        after={"userName": user.user_name, "manual_roles": held, "suspended": held},
        detail=(
            f"userName changed from '{previous_name}' while holding manual role(s) "
            f"{', '.join(held)}: suspended until an operator confirms them (role grant)"
        ),
    )  # fmt: skip


def check_version(entity: entities.Versioned, kind: str, if_match: ExpectedVersions) -> None:
    """If-Match: one of the caller's expected versions must be the current one (RFC 7232
    §3.1: any listed tag matches). Checked on the row locked for the write, so the check and
    the write are atomic."""
    if if_match is None:
        return
    expected = {if_match} if isinstance(if_match, int) else if_match
    if entity.version not in expected:
        listed = ", ".join(str(v) for v in sorted(expected))
        raise PreconditionFailed(f"{kind} {entity.id} is at version {entity.version}, not {listed}")


def touch(store: Store, entity: entities.Versioned) -> None:
    """Mark a user or group as changed: new version (ETag) and lastModified."""
    entity.version += 1
    entity.last_modified = store.clock()


def idp_active_changes(user: entities.User, active: bool) -> bool:
    """Whether ``apply_idp_active`` with ``active`` changes the user's row: its active flag,
    or under an operator's hold the IdP's recorded value."""
    return bool(user.active != active if user.held_at is None else user.idp_active != active)


def apply_idp_active(
    store: Store, user: entities.User, active: bool, actor: str, reason: str
) -> bool:
    """The IdP's active flag for a locked user (PUT, PATCH). Under an operator's hold the
    IdP's value is recorded (``idp_active``, audited when it changes) but access stays off
    until an operator reactivates. Returns whether the user changed. The row's columns change
    before the first statement, so they reach the database with the caller's other changes."""
    if user.held_at is None:
        return set_active(store, user, active, actor, reason)
    changed = idp_active_changes(user, active)
    before, user.idp_active = user.idp_active, active
    set_active(store, user, False, actor, reason)  # already off: sessions and IdP roles stay gone
    if not changed:
        return False
    record_event(
        store, actor, AuditAction.USER_HOLD_KEPT, "user", user.id, user.user_name,
        before={"idp_active": before}, after={"idp_active": active, "active": False},
        detail=(
            f"the IdP set active={str(active).lower()}; the operator hold by {user.held_by} "
            "keeps access off until an operator reactivates"
        ),
    )  # fmt: skip
    return True


def _hold_json(user: entities.User) -> dict[str, Any]:
    since = user.held_at
    return {
        "since": None if since is None else since.isoformat() + "Z",
        "by": user.held_by,
        "reason": user.hold_reason,
        "idp_active": user.idp_active,
    }


@transaction
def deactivate_user(store: Store, user_id: str, actor: str, reason: str = "operator") -> bool:
    """Operator deactivation: inactive with every effect, and a hold that the IdP's updates
    cannot lift (``apply_idp_active``) until an operator reactivates. Returns whether
    anything changed (the flag, or a hold placed on a user the IdP had deactivated)."""
    user = lock_user(store, user_id)
    placed = user.held_at is None
    if placed:
        user.held_at, user.held_by = store.clock(), actor[: limits.ACTOR]
        user.hold_reason = reason[: limits.HOLD_REASON]
        user.idp_active = None  # nothing heard since
        record_event(
            store, actor, AuditAction.USER_HELD, "user", user.id, user.user_name,
            before={"hold": None}, after={"hold": _hold_json(user)},
            detail=f"operator hold: {reason}",
        )  # fmt: skip
    changed = _assign(user, False) | set_active(store, user, False, actor, reason) | placed
    if changed:
        touch(store, user)
    return changed


@transaction
def reactivate_user(store: Store, user_id: str, actor: str, reason: str = "operator") -> bool:
    """Operator reactivation: lifts the operator's hold, if any, and reactivates."""
    user = lock_user(store, user_id)
    lifted = user.held_at is not None
    if lifted:
        record_event(
            store, actor, AuditAction.USER_HOLD_RELEASED, "user", user.id, user.user_name,
            before={"hold": _hold_json(user)}, after={"hold": None}, detail=reason,
        )  # fmt: skip
        user.held_at = user.held_by = user.hold_reason = user.idp_active = None
    changed = _assign(user, True) | set_active(store, user, True, actor, reason) | lifted
    if changed:
        touch(store, user)
    return changed


def _assign(user: entities.User, active: bool) -> bool:
    """An operator's deactivation or reactivation gives an unassigned ``active`` (see
    ``domain.active``) a value again. Returns whether the stored state changed."""
    document = dict(user.document or {})
    if stored_state(user.active, document) is not None:
        return False
    user.document = with_state(document, active)
    return True
