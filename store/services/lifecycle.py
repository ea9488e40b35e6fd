"""The identity lifecycle: the one implementation of deactivation, reactivation and role
recomputation that the API, the worker and the operator UI all go through.

Functions taking an entity run inside the caller's transaction and expect the user row to
be locked by the caller (``lock_user``) so that a deactivation and a concurrent membership
change cannot interleave and leave an IdP role on an inactive user.
"""

from __future__ import annotations

from typing import Any

from store.context import Store
from store.domain.active import stored_state, with_state
from store.domain.ids import is_resource_id
from store.domain.roles import IdpGrant, diff_grants, idp_grants
from store.errors import NotFound, PreconditionFailed
from store.queries.filtering import fetch_rows, sql_timestamp
from store.services.audit import record_event
from store.tx import transaction

IDP = "idp"
MANUAL = "manual"


def lock_user(store: Store, user_id: str) -> Any:
    """The live (not deleted) user row, locked for this transaction, or NotFound."""
    user = store.db.User.get_for_update(id=user_id) if is_resource_id(user_id) else None
    if user is None or user.deleted_at is not None:
        raise NotFound(f"user {user_id} not found")
    return user


_MAPPING = 'SELECT "group_name_key", "role" FROM "sso_group_role_mapping"'


def mapping_table(store: Store) -> dict[str, set[str]]:
    """The SSO group-to-role mapping as folded group name -> role names."""
    table: dict[str, set[str]] = {}
    for key, role in fetch_rows(store, _MAPPING, {}):  # read on every membership change
        table.setdefault(key, set()).add(role)
    return table


def recompute_user_roles(
    store: Store, user: Any, actor: str, mapping: dict[str, set[str]] | None = None
) -> int:
    """Bring the user's IdP-derived role assignments in line with memberships and the
    mapping; manual assignments are never touched. Returns how many rows changed."""
    if mapping is None:
        mapping = mapping_table(store)
    group_keys = [m.group.display_name_key for m in user.memberships]
    live = user.active and user.deleted_at is None
    wanted = idp_grants(live, group_keys, mapping)
    rows = {IdpGrant(a.role.name, a.via_group): a for a in user.role_assignments if a.source == IDP}
    diff = diff_grants(rows.keys(), wanted)
    if not diff.changed:
        return 0
    now = store.clock()
    for grant in diff.remove:
        rows[grant].delete()
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
    record_event(
        store,
        actor,
        "roles.recomputed",
        "user",
        user.id,
        user.user_name,
        before=sorted({g.role for g in rows}),
        after=sorted({g.role for g in wanted}),
        detail=f"+{len(diff.add)} -{len(diff.remove)} IdP role assignment(s)",
    )
    return diff.changed


_END_SESSIONS = (
    'UPDATE "control_session" SET "ended_at" = $now, "end_reason" = $reason '
    'WHERE "user" = $user_id AND "ended_at" IS NULL'
)


def end_user_sessions(store: Store, user: Any, reason: str) -> int:
    """End every open session of the user; their next request is sent to sign in. One
    statement, whatever the number of sessions (no caller holds Session entities of the user
    in the same transaction, which would not see it)."""
    params = {
        "now": sql_timestamp(store, store.clock()),
        "reason": reason[:128],
        "user_id": user.id,
    }
    return int(store.db.execute(_END_SESSIONS, {}, params).rowcount)


def set_active(store: Store, user: Any, active: bool, actor: str, reason: str) -> bool:
    """Apply an active flag to a locked user row with all of its effects. Returns whether the
    flag changed. Deactivation: inactive, sessions ended, IdP roles removed, manual roles and
    memberships kept. Reactivation: IdP roles restored from the kept memberships."""
    if user.active == active:
        if not active:
            # Belt and braces: an already inactive user must not keep a session or IdP role.
            end_user_sessions(store, user, reason)
            recompute_user_roles(store, user, actor)
        return False
    user.active = active
    ended = 0 if active else end_user_sessions(store, user, reason)
    recompute_user_roles(store, user, actor)  # IdP roles go, or come back from memberships
    record_event(
        store,
        actor,
        "user.reactivated" if active else "user.deactivated",
        "user",
        user.id,
        user.user_name,
        before={"active": not active},
        after={"active": active},
        detail=reason if active else f"{reason}; {ended} session(s) ended",
    )
    return True


def check_version(entity: Any, kind: str, if_match: int | None) -> None:
    """If-Match: the caller's expected version must be the current one (checked on the row
    locked for the write, so the check and the write are atomic)."""
    if if_match is not None and if_match != entity.version:
        raise PreconditionFailed(
            f"{kind} {entity.id} is at version {entity.version}, not {if_match}"
        )


def touch(store: Store, entity: Any) -> None:
    """Mark a user or group as changed: new version (ETag) and lastModified."""
    entity.version += 1
    entity.last_modified = store.clock()


@transaction
def deactivate_user(store: Store, user_id: str, actor: str, reason: str = "operator") -> bool:
    """Operator or worker deactivation of one user (the IdP path goes through the users
    service, which calls ``set_active`` inside its own transaction)."""
    user = lock_user(store, user_id)
    changed = _assign(user, False) | set_active(store, user, False, actor, reason)
    if changed:
        touch(store, user)
    return changed


@transaction
def reactivate_user(store: Store, user_id: str, actor: str, reason: str = "operator") -> bool:
    user = lock_user(store, user_id)
    changed = _assign(user, True) | set_active(store, user, True, actor, reason)
    if changed:
        touch(store, user)
    return changed


def _assign(user: Any, active: bool) -> bool:
    """An operator's deactivation or reactivation gives an unassigned ``active`` (see
    ``domain.active``) a value again. Returns whether the stored state changed."""
    document = dict(user.document or {})
    if stored_state(user.active, document) is not None:
        return False
    user.document = with_state(document, active)
    return True
