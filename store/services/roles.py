"""Roles, manual grants and the SSO group-to-role mapping.

Every role assignment has a source: ``manual`` rows are granted and revoked here by an
operator; ``idp`` rows are derived from IdP group memberships through the mapping and are
only ever written by ``lifecycle.recompute_user_roles``. So this module never touches an
``idp`` row directly: a mapping change queues the recomputation of the affected group's
members (``recompute_queue``), run in batches right after the edit commits; the worker
finishes it if the process stops, and its periodic reconcile repairs any other drift.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pony.orm import flush

from store import entities
from store.context import Store, as_utc
from store.domain import causes, limits
from store.domain.enums import AuditAction, GrantSource
from store.domain.names import fold, group_key
from store.domain.roles import MappingKey, idp_grants
from store.domain.validation import check_group_name
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.filtering import fetch_rows, in_list
from store.queries.identity import find_user_entity
from store.records import MappingRecord, RoleRecord
from store.services import recompute_queue, role_sync
from store.services.audit import record_event
from store.services.connections import connection_entity
from store.services.lifecycle import IDP, MANUAL, SUSPENDED, lock_user, mapping_table
from store.tx import read, transaction

ROLE_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.:\-]{{0,{limits.ROLE_NAME - 1}}}$")


@transaction
def ensure_default_roles(store: Store, actor: str = "system") -> list[str]:
    """Create the configured default roles that are missing; returns the names created."""
    created = []
    for name in store.settings.roles.defaults:
        if store.db.Role.get(name=name) is None:
            store.db.Role(name=name, description="", created=store.clock())
            record_event(store, actor, AuditAction.ROLE_CREATED, "role", name, name)
            created.append(name)
    return created


def find_role(store: Store, name: str) -> entities.Role | None:
    """The role called ``name``, compared case-insensitively (roles are few), else None."""
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip()
    role = store.db.Role.get(name=name) if len(name) <= limits.ROLE_NAME else None
    if role is not None:
        return role
    key = fold(name)
    return next((r for r in store.db.Role.select() if fold(r.name) == key), None)


def _existing_role(store: Store, name: str) -> entities.Role:
    role = find_role(store, name)
    if role is None:
        known = ", ".join(sorted(r.name for r in store.db.Role.select())) or "none"
        raise InvalidInput(f"unknown role {name!r} (roles: {known})", "role")
    return role


def _live_user(store: Store, user_name: str, by_id: bool = False) -> entities.User:
    user = find_user_entity(store, user_name, by_id=by_id)
    if user is None:
        raise NotFound(f"user {user_name!r} not found")
    return lock_user(store, user.id)


@transaction
def create_role(store: Store, name: str, description: str, actor: str) -> RoleRecord:
    """Add a role operators can grant and map groups to."""
    name = (name or "").strip()
    if not ROLE_NAME.match(name):
        raise InvalidInput(
            f"a role name is 1-{limits.ROLE_NAME} letters, digits, '_', '.', ':' or '-', "
            "starting with a letter or digit",
            "name",
        )
    description = (description or "").strip()
    if len(description) > limits.ROLE_DESCRIPTION:
        raise InvalidInput(
            f"a description has at most {limits.ROLE_DESCRIPTION} characters", "description"
        )
    if find_role(store, name) is not None:
        raise Conflict(f"role {name!r} already exists", "name")
    store.db.Role(name=name, description=description, created=store.clock())
    record_event(
        store,
        actor,
        AuditAction.ROLE_CREATED,
        "role",
        name,
        name,
        after={"description": description},
    )
    return RoleRecord(name, description)


def _manual_row(
    store: Store, user: entities.User, role_row: entities.Role, source: GrantSource
) -> entities.RoleAssignment | None:
    return store.db.RoleAssignment.get(user=user, role=role_row, source=source, via_group="")


@transaction
def grant_role(store: Store, user_name: str, role: str, actor: str, by_id: bool = False) -> bool:
    """Grant a manual role. A role the user also holds through an IdP group still gets its
    manual row, so it survives the group going away. Granting a role suspended after a
    userName change confirms it for the user as now named. Returns False if already
    granted."""
    user = _live_user(store, user_name, by_id)
    role_row = _existing_role(store, role)
    if _manual_row(store, user, role_row, MANUAL):
        return False
    suspended = _manual_row(store, user, role_row, SUSPENDED)
    if suspended is not None:
        suspended.delete()
    store.db.RoleAssignment(
        user=user,
        role=role_row,
        source=MANUAL,
        via_group="",
        created=store.clock(),
        granted_by=actor[: limits.ACTOR],
    )
    after = {"role": role_row.name, "source": MANUAL, "cause": causes.MANUAL}
    if suspended is not None:
        after["confirmed"] = {"userName": user.user_name}
    record_event(
        store, actor, AuditAction.ROLE_GRANTED, "user", user.id, user.user_name, after=after
    )
    return True


@transaction
def revoke_role(store: Store, user_name: str, role: str, actor: str, by_id: bool = False) -> bool:
    """Revoke a manual role (or one suspended after a userName change); IdP-derived rows
    are never touched. Returns False when the user holds the role in no way; InvalidInput
    when only an IdP group gives it."""
    user = _live_user(store, user_name, by_id)
    role_row = _existing_role(store, role)
    row = _manual_row(store, user, role_row, MANUAL) or _manual_row(
        store, user, role_row, SUSPENDED
    )
    if row is None:
        via = sorted(
            a.via_group for a in user.role_assignments if a.source == IDP and a.role == role_row
        )
        if via:
            raise InvalidInput(_idp_only_message(store, user, role_row.name, via), "role")
        return False
    source = row.source
    row.delete()
    record_event(
        store,
        actor,
        AuditAction.ROLE_REVOKED,
        "user",
        user.id,
        user.user_name,
        before={"role": role_row.name, "source": source, "cause": causes.MANUAL},
    )
    return True


def _mapped_name(store: Store, key: str, role: str) -> str:
    rows = store.db.GroupRoleMapping.select(
        lambda m: m.group_name_key == key and m.role.name == role
    )
    mapping = rows.order_by(lambda m: m.id).first()
    return str(mapping.group_name) if mapping is not None else key


def _idp_only_message(store: Store, user: entities.User, role: str, keys: list[str]) -> str:
    names = [_mapped_name(store, key, role) for key in keys]
    groups = ", ".join(repr(n) for n in names)
    return (
        f"{user.user_name!r} holds role {role!r} through IdP group {groups} and the SSO "
        f"group-to-role mapping, not as a manual grant: remove the user from that group in "
        f"the IdP, or change the mapping (trident-scim mapping remove {names[0]!r} {role})"
    )


# ---- the SSO group-to-role mapping ----------------------------------------------------------


def mapping_record(mapping: entities.GroupRoleMapping) -> MappingRecord:
    return MappingRecord(
        group_name=mapping.group_name,
        role=mapping.role.name,
        created=as_utc(mapping.created),
        created_by=mapping.created_by,
        connection=None if mapping.connection is None else mapping.connection.name,
    )


def _find_mapping(
    store: Store, key: str, role_row: entities.Role, connection: entities.Connection | None
) -> entities.GroupRoleMapping | None:
    """The mapping row of this group name, role and connection (None: any connection)."""
    rows = store.db.GroupRoleMapping.select(
        lambda m: m.group_name_key == key and m.role == role_row and m.connection == connection
    )
    return rows.order_by(lambda m: m.id).first()


def _mapping_connection(store: Store, connection: str | None) -> entities.Connection | None:
    return None if connection is None else connection_entity(store, connection)


def set_mapping(
    store: Store,
    group_name: str,
    role: str,
    actor: str,
    progress: role_sync.Progress | None = None,
    connection: str | None = None,
) -> MappingRecord:
    """Map an IdP group to a role; idempotent. The row matches the groups of that name in
    the connection named ``connection`` (which must exist), or in any connection when None
    (``domain.roles.matches``). Group names match as ``names.group_key`` says (trimmed,
    NFC, case-insensitive, no compatibility folding). The edit commits first; the
    matching groups' members then gain the role in batches (``recompute_queue``), with
    ``progress(done, total)`` after each. Interrupted, the worker finishes them."""
    record, queued = _save_mapping(store, group_name, role, actor, connection)
    if queued is not None:
        recompute_queue.run(store, queued, group_key(record.group_name), progress)
    return record


def _mapping_json(
    group_name: str, role: str, mapping_id: int, owner: entities.Connection | None
) -> dict[str, Any]:
    found: dict[str, Any] = {"group": group_name, "role": role, "mapping_id": mapping_id}
    found["connection"] = None if owner is None else owner.name
    return found


@transaction
def _save_mapping(
    store: Store, group_name: str, role: str, actor: str, connection: str | None = None
) -> tuple[MappingRecord, int | None]:
    group_name, key = check_group_name(group_name, "group")
    recompute_queue.lock_mapping_edits(store, key)
    role_row = _existing_role(store, role)
    owner = _mapping_connection(store, connection)
    existing = _find_mapping(store, key, role_row, owner)
    if existing is not None:
        return mapping_record(existing), None
    mapping = store.db.GroupRoleMapping(
        group_name=group_name,
        group_name_key=key,
        role=role_row,
        created=store.clock(),
        created_by=actor[: limits.ACTOR],
        connection=owner,
    )
    flush()  # the row's id names the cause in the members' audit
    cause = causes.mapping("set", mapping.id, group_name, role_row.name)
    queued = recompute_queue.enqueue(store, key, cause, actor)
    record_event(
        store,
        actor,
        AuditAction.MAPPING_SET,
        "mapping",
        key[: limits.AUDIT_TARGET_ID],
        f"{group_name} -> {role_row.name}",
        after=_mapping_json(group_name, role_row.name, mapping.id, owner),
        detail=_queued_detail(store, key),
    )
    return mapping_record(mapping), queued


def remove_mapping(
    store: Store,
    group_name: str,
    role: str,
    actor: str,
    progress: role_sync.Progress | None = None,
    connection: str | None = None,
) -> bool:
    """Remove one mapping row (of that connection, or the one for any connection when
    None); the members of the groups it matched lose the role unless another group or a
    manual grant gives it, in batches as ``set_mapping`` says. Returns False when there was
    no such mapping."""
    queued = _delete_mapping(store, group_name, role, actor, connection)
    if queued is None:
        return False
    recompute_queue.run(store, queued[0], queued[1], progress)
    return True


@transaction
def _delete_mapping(
    store: Store, group_name: str, role: str, actor: str, connection: str | None = None
) -> tuple[int, str] | None:
    group_name, key = check_group_name(group_name, "group", written=False)
    recompute_queue.lock_mapping_edits(store, key)
    owner = _mapping_connection(store, connection)
    role_row = find_role(store, role)
    if role_row is None:
        return None
    mapping = _find_mapping(store, key, role_row, owner)
    if mapping is None:
        return None
    shown, mapping_id = mapping.group_name, mapping.id
    mapping.delete()
    cause = causes.mapping("removed", mapping_id, shown, role_row.name)
    queued = recompute_queue.enqueue(store, key, cause, actor)
    record_event(
        store,
        actor,
        AuditAction.MAPPING_REMOVED,
        "mapping",
        key[: limits.AUDIT_TARGET_ID],
        f"{shown} -> {role_row.name}",
        before=_mapping_json(shown, role_row.name, mapping_id, owner),
        detail=_queued_detail(store, key),
    )
    return queued, key


def _queued_detail(store: Store, key: str) -> str:
    count = recompute_queue.affected_count(store, key)
    return f"IdP roles of {count} user(s) recomputed in batches"


# ---- preview --------------------------------------------------------------------------------


MappingEdit = tuple[str, str] | tuple[str, str, str | None]
"""(IdP group name, role) or (IdP group name, role, connection name or None for any)."""


def _edit_key(store: Store, edit: MappingEdit, role: str) -> tuple[MappingKey, str]:
    group, connection = edit[0], (edit[2] if len(edit) > 2 else None)
    owner = _mapping_connection(store, connection)
    return (
        None if owner is None else int(owner.id),
        check_group_name(group, "group", written=False)[1],
    ), role


PREVIEW_BATCH = 500
"""Users whose roles the preview compares per step (and per progress report)."""

# Bound parameters only: the IN lists name generated parameters (``in_list``).
_LIVE_MEMBERS = (
    'SELECT DISTINCT u."id", u."user_name" FROM "scim_user" u '
    'JOIN "scim_membership" ms ON ms."user" = u."id" '
    'JOIN "scim_group" g ON g."id" = ms."group" '
    'WHERE u."active" AND u."deleted_at" IS NULL AND g."display_name_key" IN {keys} '
    'ORDER BY u."id"'
)
_GROUP_KEYS = (
    'SELECT ms."user", g."connection_id", g."display_name_key" FROM "scim_membership" ms '
    'JOIN "scim_group" g ON g."id" = ms."group" WHERE ms."user" IN {ids}'
)
_MANUAL_ROLES = (
    'SELECT a."user", a."role" FROM "control_role_assignment" a '
    'WHERE a."source" = $manual AND a."user" IN {ids}'
)


@read
def preview_mapping_change(
    store: Store,
    add: Sequence[MappingEdit],
    remove: Sequence[MappingEdit],
    progress: role_sync.Progress | None = None,
) -> list[tuple[str, str, str]]:
    """Who would gain or lose which role if these mapping rows were added and removed:
    ``(userName, role, "gain" | "lose")`` sorted. A row without a connection (or with
    None) matches that group name in every connection. Manual grants count as held, so a
    role a user also holds manually is never listed as lost (nor as gained).

    The active members of the groups concerned are compared ``PREVIEW_BATCH`` at a time;
    ``progress(done, total)`` is called once the members are counted (``done`` 0) and after
    each batch. It may raise to stop the preview: nothing is written either way."""
    pairs_add = [_edit_key(store, e, _existing_role(store, e[1]).name) for e in add]
    pairs_remove = [_edit_key(store, e, _role_name(store, e[1])) for e in remove]
    current = mapping_table(store)
    proposed = {key: set(roles) for key, roles in current.items()}
    for key, role in pairs_remove:
        proposed.get(key, set()).discard(role)
    for key, role in pairs_add:
        proposed.setdefault(key, set()).add(role)
    keys = list({key for (_c, key), _r in pairs_add + pairs_remove})
    if not keys:
        return []
    in_keys, params = in_list(keys, "k")
    members = fetch_rows(store, _LIVE_MEMBERS.format(keys=in_keys), params)
    if progress is not None:
        progress(0, len(members))
    changes: list[tuple[str, str, str]] = []
    for start in range(0, len(members), PREVIEW_BATCH):
        batch = members[start : start + PREVIEW_BATCH]
        groups, manual = _held_by(store, [str(user_id) for user_id, _ in batch])
        for user_id, user_name in batch:
            held = manual.get(str(user_id), set())
            before = {g.role for g in idp_grants(True, groups[str(user_id)], current)} | held
            after = {g.role for g in idp_grants(True, groups[str(user_id)], proposed)} | held
            changes += [(user_name, r, "gain") for r in after - before]
            changes += [(user_name, r, "lose") for r in before - after]
        if progress is not None:
            progress(start + len(batch), len(members))
    return sorted(changes)


def _held_by(
    store: Store, ids: list[str]
) -> tuple[dict[str, list[tuple[int, str]]], dict[str, set[str]]]:
    """For these users: the (connection id, folded name) of each of their groups, and their
    manual roles."""
    in_ids, params = in_list(ids, "u")
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for user_id, connection_id, key in fetch_rows(store, _GROUP_KEYS.format(ids=in_ids), params):
        groups[str(user_id)].append((int(connection_id), str(key)))
    manual: dict[str, set[str]] = defaultdict(set)
    rows = fetch_rows(store, _MANUAL_ROLES.format(ids=in_ids), params | {"manual": MANUAL})
    for user_id, role in rows:
        manual[str(user_id)].add(role)
    return groups, manual


def _role_name(store: Store, name: str) -> str:
    role = find_role(store, name)
    return role.name if role is not None else (name or "").strip()
