"""Reads of the identity lifecycle: one user in detail, roles and where they come from, their
valid sessions, the SSO mapping, and the audit trail.

Read only. ``user_detail`` works for deleted users too, so their audit history can always be
read back. ``find_user_entity`` and ``effective_role_names`` are entity-level helpers for the
store's own services; outside ``store/`` only the records leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pony.orm import desc

from store import entities
from store.context import Store, as_utc
from store.domain.enums import AuditAction, GrantSource
from store.domain.names import fold
from store.domain.sessions import idle_cut, idle_timeout, sql_invalid
from store.errors import Ambiguous, NotFound
from store.queries.filtering import fetch_rows, sql_timestamp
from store.queries.users import user_record
from store.records import (
    AuditRecord,
    HoldRecord,
    MappingRecord,
    RoleAssignmentRecord,
    RoleRecord,
    RoleSource,
    SessionRecord,
    UserDetail,
)
from store.tx import read

NOTABLE_ACTIONS = (AuditAction.USER_RENAMED,)
"""Audit actions operators must notice: a userName change of a user holding manual roles."""
AUDIT_LIMIT = 500
"""Largest number of audit events one read returns."""
MAX_ID = 64


def find_user_entity(
    store: Store, name_or_id: str, include_deleted: bool = False, by_id: bool = False
) -> entities.User | None:
    """The user an operator's argument names, else None. With ``by_id`` only the id counts.
    Otherwise the user whose userName folds to it and the user whose id it is are both
    looked up: when they are two different users the argument is refused (``Ambiguous``),
    since an IdP may choose a userName equal to another user's id. Live users only; with
    ``include_deleted`` a deleted user is found by id, or by userName when no live user
    holds it (the most recently deleted match)."""
    if not isinstance(name_or_id, str) or not name_or_id.strip():
        return None
    name = name_or_id.strip()
    by_key = store.db.User.get(id=name) if len(name) <= MAX_ID else None
    if by_key is not None and by_key.deleted_at is not None and not include_deleted:
        by_key = None
    if by_id:
        return by_key
    named = store.db.User.get(user_name_key=fold(name))
    if named is None and include_deleted:
        named = _deleted_by_name(store, name)
    if named is not None and by_key is not None and named is not by_key:
        raise Ambiguous(_ambiguity(name, named, by_key))
    return named or by_key


def _ambiguity(name: str, named: entities.User, by_key: entities.User) -> str:
    """One line naming both users (edges show it through ``domain.display``)."""
    return (
        f"'{name}' names two users: the userName of user {named.id} ('{named.user_name}') "
        f"and the id of user {by_key.id} ('{by_key.user_name}'); address one with --id ID"
    )


def _deleted_by_name(store: Store, name: str) -> entities.User | None:
    """A deleted user's key may have been freed for reuse: match its userName instead."""
    lowered, key = name.lower(), fold(name)
    candidates = store.db.User.select(
        lambda u: (
            u.deleted_at is not None and (u.user_name == name or u.user_name.lower() == lowered)
        )
    ).order_by(lambda u: (u.deleted_at, u.id))
    matches = [u for u in candidates if fold(u.user_name) == key]
    return matches[-1] if matches else None


def effective_role_names(store: Store, user: entities.User) -> list[str]:
    """Every role the user holds, manual and IdP-derived, deduplicated and sorted (manual
    grants suspended after a userName change do not count)."""
    names = store.db.RoleAssignment.select(
        lambda a: a.user == user and a.source != GrantSource.SUSPENDED
    )
    return sorted({a.role.name for a in names})


def _mapped_names(store: Store, keys: set[str]) -> dict[str, str]:
    """Folded IdP group key -> the name as configured in the mapping (or as the group is
    called, when the mapping row is gone and the reconciler has not caught up yet)."""
    if not keys:
        return {}
    wanted = list(keys)
    names = {
        g.display_name_key: g.display_name
        for g in store.db.Group.select(lambda g: g.display_name_key in wanted)
    }
    for m in store.db.GroupRoleMapping.select(lambda m: m.group_name_key in wanted):
        names[m.group_name_key] = m.group_name
    return names


def role_sources(
    store: Store, rows: Iterable[entities.RoleAssignment]
) -> list[tuple[entities.RoleAssignment, RoleSource]]:
    """The one role-source builder: each RoleAssignment row with the role it grants and where
    it comes from (an IdP group named as mapped), ordered by role, source, then group."""
    rows = list(rows)
    names = _mapped_names(store, {a.via_group for a in rows if a.source == GrantSource.IDP})
    sources = []
    for a in rows:
        via = names.get(a.via_group, a.via_group) if a.source == GrantSource.IDP else None
        sources.append((a, RoleSource(a.role.name, GrantSource(a.source), via or None)))
    return sorted(sources, key=lambda pair: (pair[1].role, pair[1].source, pair[1].via_group or ""))


def _assignments(store: Store, user: entities.User) -> list[RoleAssignmentRecord]:
    rows = store.db.RoleAssignment.select(lambda a: a.user == user)
    return [
        RoleAssignmentRecord(
            role=source.role,
            source=source.source,
            via_group=source.via_group,
            granted_by=a.granted_by,
            created=as_utc(a.created),
        )
        for a, source in role_sources(store, rows)
    ]


# The user's valid sessions (``store.domain.sessions``), most recently seen first.
_VALID = (
    'FROM "control_session" s JOIN "scim_user" u ON u."id" = s."user" '
    'WHERE s."user" = $user_id AND NOT ' + sql_invalid("s", "u", "$now", "$cut")
)


def _valid_params(store: Store, user: entities.User) -> dict[str, Any]:
    now = store.clock()
    cut = idle_cut(now, idle_timeout(store.settings.sessions.idle_timeout_minutes))
    return {
        "user_id": user.id,
        "now": sql_timestamp(store, now),
        "cut": sql_timestamp(store, cut),
    }


def _active_session_count(store: Store, user: entities.User) -> int:
    return int(fetch_rows(store, f"SELECT COUNT(*) {_VALID}", _valid_params(store, user))[0][0])


def session_record(session: entities.Session) -> SessionRecord:
    return SessionRecord(
        id=session.id,
        user_id=session.user.id,
        user_name=session.user.user_name,
        created=as_utc(session.created),
        last_seen=as_utc(session.last_seen),
        expires_at=as_utc(session.expires_at),
        ended_at=as_utc(session.ended_at),
        end_reason=session.end_reason,
        client_address=session.client_address,
        user_agent=session.user_agent,
    )


@read
def active_sessions(store: Store, user_id: str, limit: int = 100) -> list[SessionRecord]:
    """The user's valid sessions, most recently seen first (the ones the user detail counts).
    Each carries when it started and was last seen, and its browser's address and User-Agent
    as last recorded (None for a session from before they were, or never seen through a
    trusted proxy)."""
    user = find_user_entity(store, user_id, by_id=True)
    if user is None:
        raise NotFound(f"user {user_id!r} not found")
    sql = f'SELECT s."id" {_VALID} ORDER BY s."last_seen" DESC, s."id" DESC LIMIT $limit'
    rows = fetch_rows(store, sql, {**_valid_params(store, user), "limit": max(1, limit)})
    return [session_record(store.db.Session[session_id]) for (session_id,) in rows]


def _hold(user: entities.User) -> HoldRecord | None:
    if user.held_at is None:
        return None
    return HoldRecord(
        since=as_utc(user.held_at),
        by=user.held_by or "",
        reason=user.hold_reason or "",
        idp_active=user.idp_active,
    )


def _audit_record(event: entities.AuditEvent) -> AuditRecord:
    return AuditRecord(
        id=event.id,
        at=as_utc(event.at),
        actor=event.actor,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        target_name=event.target_name or "",
        before=event.before,
        after=event.after,
        detail=event.detail or "",
    )


@read
def user_detail(
    store: Store, user_name_or_id: str, audit_limit: int = 20, by_id: bool = False
) -> UserDetail:
    """A user with roles (and their sources), groups, open sessions and recent audit
    events, newest first. Deleted users are found too (``deleted`` is then True)."""
    user = find_user_entity(store, user_name_or_id, include_deleted=True, by_id=by_id)
    if user is None:
        raise NotFound(f"user {user_name_or_id!r} not found")
    return UserDetail(
        user=user_record(store, user),
        roles=tuple(_assignments(store, user)),
        active_sessions=_active_session_count(store, user),
        audit=tuple(audit_events(store, "user", user.id, audit_limit)),
        deleted=user.deleted_at is not None,
        renames=tuple(notable_events(store, 20, user.id)),
        hold=_hold(user),
        connection=user.connection.name,
    )


@read
def user_id_for(store: Store, user_name_or_id: str, by_id: bool = False) -> str:
    """The id of the live (not deleted) user with that userName (any case) or id."""
    user = find_user_entity(store, user_name_or_id, by_id=by_id)
    if user is None:
        raise NotFound(f"user {user_name_or_id!r} not found")
    return str(user.id)


@read
def user_roles(store: Store, user_id: str) -> list[RoleAssignmentRecord]:
    """A user's role assignments; ``via_group`` names the IdP group as mapped."""
    user = store.db.User.get(id=user_id) if len(user_id) <= MAX_ID else None
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return _assignments(store, user)


@read
def list_roles(store: Store) -> list[RoleRecord]:
    roles = store.db.Role.select().order_by(lambda r: r.name)
    return [RoleRecord(r.name, r.description or "") for r in roles]


@read
def list_mappings(store: Store) -> list[MappingRecord]:
    """The SSO group-to-role mapping, by group, role, then connection (None: any)."""
    rows = store.db.GroupRoleMapping.select().order_by(lambda m: (m.group_name_key, m.id))
    records = [
        MappingRecord(
            group_name=m.group_name,
            role=m.role.name,
            created=as_utc(m.created),
            created_by=m.created_by,
            connection=None if m.connection is None else m.connection.name,
        )
        for m in rows
    ]
    return sorted(records, key=lambda r: (fold(r.group_name), r.role, fold(r.connection or "")))


@read
def audit_events(
    store: Store, target_type: str | None = None, target_id: str | None = None, limit: int = 50
) -> list[AuditRecord]:
    """Audit events, newest first, optionally of one target type and id."""
    limit = max(1, min(int(limit), AUDIT_LIMIT))
    query = store.db.AuditEvent.select()
    if target_type is not None:
        query = query.filter(lambda e: e.target_type == target_type)
    if target_id is not None:
        query = query.filter(lambda e: e.target_id == target_id)
    events = query.order_by(lambda e: (desc(e.at), desc(e.id)))[:limit]
    return [_audit_record(e) for e in events]


@read
def notable_events(store: Store, limit: int = 20, user_id: str | None = None) -> list[AuditRecord]:
    """The newest notable events (``NOTABLE_ACTIONS``), of every user or of one."""
    limit = max(1, min(int(limit), AUDIT_LIMIT))
    actions = list(NOTABLE_ACTIONS)
    query = store.db.AuditEvent.select(lambda e: e.action in actions)
    if user_id is not None:
        query = query.filter(lambda e: e.target_type == "user" and e.target_id == user_id)
    events = query.order_by(lambda e: (desc(e.at), desc(e.id)))[:limit]
    return [_audit_record(e) for e in events]
