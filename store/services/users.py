"""Writing SCIM Users: create, replace, modify (PATCH) and delete.

Each function is one transaction with audit events. userName is unique through its folded key.
externalId is the client's value (RFC 7643 §3.1): kept case-exact, never required to be unique
and never used to find a user, since two users (or two IdPs) may share one. A create never
takes over an existing user: a userName already held, by an active or an inactive user, is a
Conflict, and the id of a deleted user is never given to anyone else (RFC 7643 §3.1). Every
change of the active flag goes through ``lifecycle.set_active``, so each path that deactivates
a user ends sessions and drops IdP roles the same way; an unassigned ``active``
(``domain.active``) grants no access. This module must not know SCIM wire formats: callers
hand it ``UserInput``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pony.orm import select

from store import entities
from store.context import Store
from store.domain import causes, limits
from store.domain.active import State, has_access, resolve, stored_state, with_state
from store.domain.connections import check_user_name
from store.domain.enums import AuditAction
from store.domain.json_values import detached
from store.domain.names import fold
from store.domain.scope import OPERATOR, Scope
from store.domain.validation import check_document, check_name, check_text
from store.errors import Conflict
from store.queries.filtering import json_param, sql_timestamp
from store.queries.users import row_record, user_record
from store.records import ExpectedVersions, UserInput, UserRecord
from store.services import connections, lifecycle
from store.services.audit import record_event
from store.sql import execute, select_rows
from store.tx import transaction

# Audited under their SCIM names; active is audited by the lifecycle's own events.
_AUDITED = {"userName": "user_name", "externalId": "external_id", "displayName": "display_name"}
_SUMMARY = {**_AUDITED, "active": "active"}


@dataclass(frozen=True)
class _Columns:
    """A validated ``UserInput`` as the values of the user's columns and email rows."""

    user_name: str
    user_name_key: str
    external_id: str | None
    display_name: str | None
    display_name_key: str | None
    given_name_key: str | None
    family_name_key: str | None
    document: dict[str, Any]
    emails: tuple[tuple[str, str, str | None, bool], ...]  # value, folded, folded type, primary


def _key(value: str | None, attribute: str, limit: int) -> str | None:
    if value is None:
        return None
    return check_text(fold(value), attribute, limit)


def _columns(data: UserInput, state: State, user: entities.User | None = None) -> _Columns:
    """``data`` checked, with the ``active`` state it leaves marked in the document. Names the
    user already holds are kept as they are (``check_name``)."""
    kept_name, kept_display = (user.user_name, user.display_name) if user else (None, None)
    user_name = check_name(
        data.user_name, "userName", limits.USER_NAME, required=True, kept=kept_name
    )
    emails = []
    for email in data.emails:
        if email.value is None or (isinstance(email.value, str) and not email.value.strip()):
            continue  # nothing to search by; the document keeps what was sent
        value = check_text(email.value, "emails", limits.EMAIL, required=True)
        kind = _key(
            check_text(email.type, "emails", limits.EMAIL_TYPE), "emails", limits.EMAIL_TYPE
        )
        emails.append((value, _key(value, "emails", limits.EMAIL) or "", kind, bool(email.primary)))
    document = check_document(data.document, "document")
    for key in [k for k in document if k.lower() == "password"]:
        del document[key]  # never stored, whatever a caller forgot to strip
    display_name = check_name(
        data.display_name, "displayName", limits.DISPLAY_NAME, kept=kept_display
    )
    return _Columns(
        user_name=user_name,
        user_name_key=_key(user_name, "userName", limits.USER_NAME) or "",
        external_id=check_text(data.external_id or None, "externalId", limits.EXTERNAL_ID),
        display_name=display_name,
        display_name_key=_key(display_name, "displayName", limits.DISPLAY_NAME),
        given_name_key=_key(
            check_text(data.given_name, "name.givenName", limits.NAME_PART),
            "name",
            limits.NAME_PART,
        ),
        family_name_key=_key(
            check_text(data.family_name, "name.familyName", limits.NAME_PART),
            "name",
            limits.NAME_PART,
        ),
        document=with_state(document, state),
        emails=tuple(emails),
    )


_HOLDER = 'SELECT "id" FROM "scim_user" WHERE "user_name_key" = $key'
_HOLDER_LOCKED = {"sqlite": _HOLDER, "postgres": _HOLDER + " FOR UPDATE"}


def _check_others(store: Store, cols: _Columns, user: entities.User | None = None) -> None:
    """Conflict when another user, active or inactive, already holds the userName (that
    user's row is locked, SQLite: the write lock ``execute`` takes). The answer names
    nothing of that user (not even whether it is active). A user keeping its own userName
    holds the key already (it is unique): nothing to look up."""
    if user is not None and cols.user_name_key == user.user_name_key:
        return
    params = {"key": cols.user_name_key}
    found = execute(store.db, _HOLDER_LOCKED[store.provider], params).rows
    if found and (user is None or found[0][0] != user.id):
        raise Conflict(_TAKEN.format("userName"), attribute="userName")


def _check_domains(store: Store, cols: _Columns, user: entities.User, scope: Scope) -> None:
    """InvalidInput when an IdP's token renames a user to a userName outside the domains
    its connection is limited to (``domain.connections.check_user_name``, the domains read
    under the connection's hold), checked before the uniqueness of the name, so a refused
    name tells nothing of who holds it. An operator is not limited."""
    if scope.connection_id is not None:
        domains = connections.held_domains(store, int(user.connection.id))
        check_user_name(cols.user_name, domains)


_TAKEN = (
    "{} is already taken by an existing user; a create never takes a user over: to change "
    "or reactivate that user, find it with a filter and PATCH or PUT its id"
)


def _snapshot(user: entities.User) -> dict[str, Any]:
    snap = {name: getattr(user, column) for name, column in _AUDITED.items()}
    snap["document"] = detached(user.document)
    return snap


# The email rows of a user are only ever read and written with these bound statements (never
# as Pony entities, whose loading cost more than the rest of a PATCH): no Pony collection of
# them can go stale within a transaction.
_EMAILS = (
    'SELECT "value", "value_key", "type", "primary" FROM "scim_user_email" WHERE "user" = $uid'
)
_DROP_EMAILS = 'DELETE FROM "scim_user_email" WHERE "user" = $uid'
_ADD_EMAIL = (
    'INSERT INTO "scim_user_email" ("user", "value", "value_key", "type", "primary") '
    "VALUES ($uid, $value, $value_key, $kind, $primary)"
)


def _write(store: Store, user: entities.User, cols: _Columns) -> bool:
    """Put ``cols`` into the user's columns (only what differs); whether its email rows
    differ from ``cols`` (``_replace_emails`` writes them, after every column is set). The
    email rows are read first: a read after a column changed would write the row early."""
    rows = select_rows(store.db, _EMAILS, {"uid": user.id})
    current = sorted(((v, k, t, bool(p)) for v, k, t, p in rows), key=repr)
    for name in (
        "user_name", "user_name_key", "external_id", "display_name", "display_name_key",
        "given_name_key", "family_name_key",
    ):  # fmt: skip
        if getattr(user, name) != getattr(cols, name):
            setattr(user, name, getattr(cols, name))
    if detached(user.document) != cols.document:
        user.document = cols.document
    return current != sorted(cols.emails, key=repr)


def _replace_emails(store: Store, user: Any, cols: _Columns) -> None:
    execute(store.db, _DROP_EMAILS, {"uid": user.id})
    _add_emails(store, user.id, cols.emails)


def _add_emails(
    store: Store, uid: str, emails: tuple[tuple[str, str, str | None, bool], ...]
) -> None:
    for value, value_key, kind, primary in emails:
        params = {"uid": uid, "value": value, "value_key": value_key, "kind": kind,
                  "primary": primary}  # fmt: skip
        execute(store.db, _ADD_EMAIL, params)


def _changes(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields (and top-level document attributes) that differ, before and after."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name in _AUDITED:
        if before[name] != after[name]:
            old[name], new[name] = before[name], after[name]
    doc_old, doc_new = before["document"], after["document"]
    for key in sorted(set(doc_old) | set(doc_new)):
        if key not in _AUDITED and doc_old.get(key) != doc_new.get(key):
            old[key], new[key] = doc_old.get(key), doc_new.get(key)
    return old, new


def _apply(
    store: Store, user: entities.User, cols: _Columns, state: State, actor: str, reason: str
) -> None:
    """Replace a locked user's attributes with ``cols``, the active flag through the
    lifecycle (which audits it); bump the version once and audit the rest of the difference.

    Every column of the row (attributes, version, lastModified, the active flag) is set
    before the first statement the lifecycle sends, so the row is written by one UPDATE."""
    before, old_key = _snapshot(user), user.user_name_key
    was = stored_state(user.active, before["document"])
    renamed = cols.user_name_key != old_key
    if renamed:
        user.role_assignments.load()  # read now: a read after the write below would flush it
    emails = _write(store, user, cols)
    old, new = _changes(before, _snapshot(user))
    if was != state and None in (was, state):  # to or from unassigned: the lifecycle's
        old["active"], new["active"] = was, state  # events only know access on or off
    if old or new or lifecycle.idp_active_changes(user, has_access(state)):
        lifecycle.touch(store, user)
    if old or new:
        record_event(
            store,
            actor,
            AuditAction.USER_UPDATED,
            "user",
            user.id,
            cols.user_name,
            old,
            new,
            reason,
        )
    if renamed:
        lifecycle.after_rename(store, user, before["userName"], actor)
    why = f"{reason}: active unassigned" if state is None else reason
    lifecycle.apply_idp_active(store, user, has_access(state), actor, why)
    if emails:  # statements: the row's columns are all set by now
        _replace_emails(store, user, cols)


@transaction
def create_user(store: Store, data: UserInput, actor: str, scope: Scope = OPERATOR) -> UserRecord:
    """Create a user with a new id, owned by ``scope``'s connection (an operator's: the
    ``default`` connection). Conflict when its userName is held by any live user of any
    connection, active or inactive, with the same answer whichever connection holds it:
    reactivation is a PATCH or PUT of that user's id. A shared externalId is no conflict."""
    state = resolve(data.active, None, "create")
    cols = _columns(data, state)
    owner_id, domains = connections.owner_and_domains(store, scope, actor)
    if domains is not None:  # a token's: checked before uniqueness (``_check_domains``)
        check_user_name(cols.user_name, domains)
    _check_others(store, cols)
    now, user_id, active = store.clock(), store.new_id(), has_access(state)
    params = {
        "id": user_id, "connection_id": owner_id,
        "user_name": cols.user_name, "user_name_key": cols.user_name_key,
        "external_id": cols.external_id, "display_name": cols.display_name,
        "display_name_key": cols.display_name_key, "given_name_key": cols.given_name_key,
        "family_name_key": cols.family_name_key, "active": active,
        "document": json_param(cols.document), "now": sql_timestamp(store, now),
    }  # fmt: skip
    execute(store.db, _CREATE[store.provider], params)
    _add_emails(store, user_id, cols.emails)
    summary = {"userName": cols.user_name, "externalId": cols.external_id,
               "displayName": cols.display_name, "active": active}  # fmt: skip
    record_event(
        store, actor, AuditAction.USER_CREATED, "user", user_id, cols.user_name, after=summary
    )
    values = (user_id, cols.user_name, cols.external_id, cols.display_name, active,
              cols.document, now, now, 1)  # fmt: skip
    return row_record(values, ())


# A new user is one bound INSERT (building the Pony entity cost more than the statement);
# the columns not named here start empty (NULL), as the entity's would.
_CREATE = {
    provider: 'INSERT INTO "scim_user" ("id", "connection_id", "user_name", "user_name_key", '
    '"external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", '
    '"active", "document", "created", "last_modified", "version") VALUES ($id, '
    "$connection_id, $user_name, $user_name_key, $external_id, $display_name, "
    f"$display_name_key, $given_name_key, $family_name_key, $active, $document{cast}, $now, "
    "$now, 1)"
    for provider, cast in (("sqlite", ""), ("postgres", "::jsonb"))
}


def _lock_for_write(
    store: Store, user_id: str, if_match: ExpectedVersions, scope: Scope
) -> entities.User:
    """The live user ``scope`` sees, locked, its version checked against If-Match on the
    locked row (so the check and the write are atomic)."""
    user = lifecycle.lock_user(store, user_id, scope)
    lifecycle.check_version(user, "user", if_match)
    return user


def _rewrite(
    store: Store,
    user: entities.User,
    data: UserInput,
    state: State,
    actor: str,
    verb: str,
    scope: Scope,
) -> None:
    """A PUT's or PATCH's new input on a locked user: checked, then applied and audited. A
    new userName (another key) obeys the connection's domains; a kept one does not, so an
    IdP still updates and deactivates the users it owned before its domains were set."""
    cols = _columns(data, state, user)
    if cols.user_name_key != user.user_name_key:
        _check_domains(store, cols, user, scope)
    _check_others(store, cols, user)
    _apply(store, user, cols, state, actor, verb)


@transaction
def replace_user(
    store: Store,
    user_id: str,
    data: UserInput,
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
) -> UserRecord:
    """Full replace (PUT). Without ``active`` the state stays as it is; a change of it goes
    through the lifecycle (deactivation ends sessions and drops IdP roles, keeping manual
    roles and memberships). Another connection's user is NotFound."""
    user = _lock_for_write(store, user_id, if_match, scope)
    state = resolve(data.active, stored_state(user.active, detached(user.document)), "replace")
    _rewrite(store, user, data, state, actor, "replaced", scope)
    return user_record(store, user, scope=scope)


@transaction
def modify_user(
    store: Store,
    user_id: str,
    transform: Callable[[UserRecord], UserInput],
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
) -> UserRecord:
    """PATCH: ``transform`` turns the current record into the new input; an input without
    ``active`` (removed, or set to null) leaves it unassigned, which grants no access.
    Whatever ``transform`` raises propagates and nothing is applied. Another connection's
    user is NotFound."""
    user = _lock_for_write(store, user_id, if_match, scope)
    current = user_record(store, user, scope=scope)
    data = transform(current)
    state = resolve(data.active, current.active, "patch")
    _rewrite(store, user, data, state, actor, "modified", scope)
    # Memberships cannot change under the user's lock: the groups read above still hold.
    return user_record(store, user, groups=current.groups)


@transaction
def delete_user(
    store: Store,
    user_id: str,
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
) -> None:
    """DELETE: deactivate (sessions end, IdP roles drop), leave every group, and soft-delete
    so the id is never reused while userName becomes free (externalId is cleared). Manual role rows
    and the audit history stay. Another connection's user is NotFound."""
    lifecycle.visible_user(store, user_id, scope)  # NotFound before any lock is taken
    group_ids = sorted(select(m.group.id for m in store.db.Membership if m.user.id == user_id))
    locked = {gid: store.db.Group.get_for_update(id=gid) for gid in group_ids}  # groups first
    user = _lock_for_write(store, user_id, if_match, scope)
    before = {name: getattr(user, column) for name, column in _SUMMARY.items()}
    lifecycle.set_active(store, user, False, actor, "deleted")
    left = []
    for membership in sorted(user.memberships, key=lambda m: m.group.id):
        group = (
            locked.get(membership.group.id)
            or store.db.Group.get_for_update(id=membership.group.id)
            or membership.group  # never reached: the membership holds its group's row
        )
        membership.delete()
        group.member_count -= 1
        lifecycle.touch(store, group)
        left.append({"id": group.id, "displayName": group.display_name})
        record_event(
            store, actor, AuditAction.GROUP_UPDATED, "group", group.id, group.display_name,
            {"members": [user.id]}, {"members": [], "cause": causes.user_deleted(user.id)},
            f"+0 -1 member(s): user {user.id} deleted",
        )  # fmt: skip
    execute(store.db, _DROP_EMAILS, {"uid": user.id})
    user.deleted_at = store.clock()
    user.user_name_key = None
    user.external_id = None
    lifecycle.touch(store, user)
    before["groups"] = left
    record_event(
        store, actor, AuditAction.USER_DELETED, "user", user.id, user.user_name, before=before
    )
