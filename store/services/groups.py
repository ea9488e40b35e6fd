"""Writing SCIM Groups: create, replace, change (PATCH) and delete, membership as deltas.

A group's row is locked first (SELECT ... FOR UPDATE; on SQLite every write transaction is
already exclusive), so concurrent PATCHes of one group serialise instead of losing members.
Then the users concerned are locked in id order (a fixed order: no deadlock between two
requests), and each member added or removed costs one row insert or delete, one counter
update, and a role recomputation of that user alone. A group's members only ever decide roles
through the SSO mapping, so role recomputation runs only when one of the group's names (before
or after the request) is mapped; drift from any other cause is the reconcile job's business.

Nothing here knows SCIM wire formats; the API turns PATCH operations into ``MembershipChange``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pony.orm import flush, select

from store import entities
from store.context import Store
from store.domain import causes, limits
from store.domain.enums import AuditAction
from store.domain.ids import is_resource_id
from store.domain.json_values import detached
from store.domain.names import group_key, trim
from store.domain.roles import mapped_roles
from store.domain.scope import OPERATOR, Scope
from store.domain.validation import check_document, check_group_name, check_text
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.filtering import chunks, sql_json, sql_naive, sql_timestamp
from store.queries.groups import get_group, group_record, members_of
from store.records import ExpectedVersions, GroupInput, GroupRecord, MembershipChange
from store.services import connections, lifecycle, member_batches, recompute_queue, role_sync
from store.services.audit import listed_ids, record_event
from store.sql import execute
from store.tx import transaction

_KINDS = ("add", "remove", "replace_all", "remove_all", "rename", "external_id", "document")


def _external_id(value: object) -> str | None:
    return check_text(value or None, "externalId", limits.EXTERNAL_ID)


def _check_unique(
    store: Store, group: entities.Group | None, key: str, connection: entities.Connection
) -> None:
    """Group names are unique (folded) within a connection: two IdPs may each push a group
    of one name, and each gets its own. externalId is the client's and need not be unique
    (RFC 7643 §3.1)."""
    other = store.db.Group.get(connection=connection, display_name_key=key)
    if other not in (None, group):
        raise Conflict(f"a group named {other.display_name!r} exists", attribute="displayName")


def _unknown_member(user_id: object) -> InvalidInput:
    shown = repr(user_id)[:82]  # a hostile id can be as long as the body: never echo it whole
    return InvalidInput(f"member {shown} is not a known user", attribute="members")


def _lock_users(store: Store, user_ids: Iterable[str], loaded: bool = True) -> dict[str, Any]:
    """Lock the live users among ``user_ids`` in id order; unknown or deleted are absent.
    Without ``loaded`` (no role of theirs can change) only their ids and connections are
    read (``role_sync.lock_users``): loading each user as a Pony entity is saved."""
    ids = sorted({user_id for user_id in user_ids if is_resource_id(user_id)})
    if not loaded:
        return {user.id: user for user in role_sync.lock_users(store, ids, live_only=True)}
    users = store.db.User
    locked: dict[str, Any] = {}
    for chunk in chunks(ids, role_sync.BATCH):
        query = select(u for u in users if u.id in chunk and u.deleted_at is None)
        for user in query.order_by(lambda u: u.id).for_update():
            locked[user.id] = user
    return locked


def _connection_of(user: Any) -> int:
    """The connection of a user locked by ``_lock_users`` (loaded or not)."""
    return user.connection_id if isinstance(user, role_sync.LockedUser) else int(user.connection.id)


# A change of membership is checked and made with bound statements: neither the member nor
# the membership is loaded as a Pony entity.
_ADD_MEMBER = (
    'INSERT INTO "scim_membership" ("group", "user", "created") VALUES ($gid, $uid, $at) '
    'ON CONFLICT ("group", "user") DO NOTHING'
)
_DROP_MEMBER = 'DELETE FROM "scim_membership" WHERE "group" = $gid AND "user" = $uid'


def _lock_group(
    store: Store, group_id: str, if_match: ExpectedVersions, scope: Scope = OPERATOR
) -> entities.Group:
    """The group row ``scope`` sees, locked, or NotFound (another connection's too)."""
    group = store.db.Group.get_for_update(id=group_id) if is_resource_id(group_id) else None
    if group is None:
        raise NotFound(f"group {group_id} not found")
    _check_writable(store, group, if_match, scope)
    return group


def _check_writable(
    store: Store, group: entities.Group | LockedGroup, if_match: ExpectedVersions, scope: Scope
) -> None:
    """A locked group may be written by ``scope``: NotFound for another connection's, a large
    change of it still moving finished first, If-Match checked on the locked row."""
    if not scope.sees(_group_connection(group)):
        raise NotFound(f"group {group.id} not found")
    member_batches.guard(store, group)  # a large change of it still moving: finish it first
    lifecycle.check_version(group, "group", if_match)


@dataclass
class LockedGroup:
    """A group row locked and read with one bound statement, without loading its entity:
    the columns ``group_record`` reads as the entity holds them (naive UTC, document
    parsed). A membership change that leaves every attribute as it is writes back only the
    member count, version and lastModified (``write``)."""

    id: str
    connection_id: int
    display_name: str
    display_name_key: str
    external_id: str | None
    document: Any
    created: datetime
    last_modified: datetime
    version: int
    member_count: int

    def write(self, store: Store) -> None:
        params = {"gid": self.id, "count": self.member_count, "version": self.version,
                  "at": sql_timestamp(store, self.last_modified)}  # fmt: skip
        execute(store.db, _WRITE_GROUP, params)


_GROUP_COLUMNS = (
    'SELECT "id", "connection_id", "display_name", "display_name_key", "external_id", '
    '"document", "created", "last_modified", "version", "member_count" FROM "scim_group" '
    'WHERE "id" = $gid'
)
_LOCK_GROUP = {"sqlite": _GROUP_COLUMNS, "postgres": _GROUP_COLUMNS + " FOR UPDATE"}
_WRITE_GROUP = (
    'UPDATE "scim_group" SET "member_count" = $count, "version" = $version, '
    '"last_modified" = $at WHERE "id" = $gid'
)


def _lock_group_row(
    store: Store, group_id: str, if_match: ExpectedVersions, scope: Scope
) -> LockedGroup:
    """``_lock_group`` with a bound statement: the row is locked (SQLite: the write
    transaction begins) and read as a ``LockedGroup``."""
    rows = (
        execute(store.db, _LOCK_GROUP[store.provider], {"gid": group_id}).rows
        if is_resource_id(group_id)
        else []
    )
    if not rows:
        raise NotFound(f"group {group_id} not found")
    gid, conn, name, key, external_id, document, created, modified, version, count = rows[0]
    group = LockedGroup(
        id=gid, connection_id=int(conn), display_name=name, display_name_key=key,
        external_id=external_id, document=sql_json(document), created=sql_naive(created),
        last_modified=sql_naive(modified), version=int(version), member_count=int(count),
    )  # fmt: skip
    _check_writable(store, group, if_match, scope)
    return group


def _group_connection(group: entities.Group | LockedGroup) -> int:
    """The connection of a group entity or a ``LockedGroup``."""
    if isinstance(group, LockedGroup):
        return group.connection_id
    return int(group.connection.id)


class _GroupEdit:
    """Applies membership changes to one locked group, as deltas, in the caller's order."""

    def __init__(
        self,
        store: Store,
        group: entities.Group | LockedGroup,
        actor: str,
        scope: Scope = OPERATOR,
    ) -> None:
        self.store, self.group, self.actor, self.scope = store, group, actor, scope
        self.connection_id = _group_connection(group)
        self.mapping: lifecycle.MappingTable = {}  # read in prepare, under the name locks
        self.members: set[str] | None = None  # loaded only when a change needs the full set
        self.users: dict[str, entities.User] = {}
        self.touched: set[str] = set()
        self.added: list[str] = []
        self.removed: list[str] = []
        self.before = self._attributes()
        self.keys = {group.display_name_key}  # every name the group has during the request

    def _attributes(self) -> dict[str, Any]:
        g = self.group
        document = detached(g.document)
        return {"displayName": g.display_name, "externalId": g.external_id, "document": document}

    def current_members(self) -> set[str]:
        """Every member, whoever sees it (their roles follow the group's name)."""
        if self.members is None:
            memberships, gid = self.store.db.Membership, self.group.id
            self.members = set(select(m.user.id for m in memberships if m.group.id == gid))
        return self.members

    def visible_members(self) -> set[str]:
        """The members the caller sees: all that a replace or remove-all may take out. A
        member of another connection (an upgrade's or a transfer's) stays until its own
        connection or an operator changes it."""
        members = self.current_members()
        if self.scope.operator:
            return members
        memberships, gid, owner = self.store.db.Membership, self.group.id, self.scope.connection_id
        return set(
            select(
                m.user.id
                for m in memberships
                if m.group.id == gid and m.user.connection.id == owner
            )
        )

    def _sees(self, user: Any) -> bool:
        return user is not None and self.scope.sees(_connection_of(user))

    def prepare(self, changes: Sequence[MembershipChange]) -> None:
        """Lock every user these changes may touch, in one fixed order, before any write."""
        ids: set[str] = set()
        whole_group = False  # does a change touch every member's roles?
        for change in changes:
            if change.kind not in _KINDS:
                raise InvalidInput(f"unknown group change {change.kind!r}", attribute="members")
            if change.kind in ("add", "replace_all"):
                ids.update(change.member_ids)
            if change.kind in ("replace_all", "remove_all"):
                whole_group = True
            if change.kind == "rename" and isinstance(change.value, str):
                key = group_key(change.value)
                # Okta re-sends the unchanged name with every membership PATCH: that must
                # stay O(1), so only a real rename concerns the whole group.
                whole_group = whole_group or key != self.group.display_name_key
                self.keys.add(key)
        lifecycle.lock_group_names(self.store, self.keys, self.connection_id)
        self.mapping = lifecycle.mapping_table(self.store)
        if self.mapped:
            for change in changes:
                if change.kind == "remove":
                    ids.update(change.member_ids)
            if whole_group:
                ids.update(self.current_members())
        self.users = _lock_users(self.store, ids, loaded=self.mapped)

    def replace_in_batches(self, changes: Sequence[MembershipChange]) -> list[int] | None:
        """When ``changes`` set the whole member list (one replace or remove-all, beside
        attribute changes) and that moves more than a batch of members: check and apply
        everything but the moves, audit the whole change, and queue the moves
        (``member_batches``) and, for a mapped group renamed, the recomputation of both names
        (``recompute_queue``): the queued rows' ids. None (nothing written) otherwise."""
        whole = [c for c in changes if c.kind in ("add", "remove", "replace_all", "remove_all")]
        if len(whole) != 1 or whole[0].kind not in ("replace_all", "remove_all"):
            return None
        attributes = [c for c in changes if c not in whole]
        renames = [c.value for c in attributes if c.kind == "rename" and isinstance(c.value, str)]
        self.keys.update(group_key(name) for name in renames)
        lifecycle.lock_group_names(self.store, self.keys, self.connection_id)
        self.mapping = lifecycle.mapping_table(self.store)
        wanted = dict.fromkeys(whole[0].member_ids if whole[0].kind == "replace_all" else ())
        current = self.current_members()
        remove = sorted(self.visible_members() - wanted.keys())  # as ``apply`` takes them out
        add = [user_id for user_id in wanted if user_id not in current]
        if not member_batches.is_large(len(remove) + len(add)):
            return None
        ids = [user_id for user_id in add if is_resource_id(user_id)]
        owner = None if self.scope.operator else self.scope.connection_id
        live = member_batches.live_users(self.store, ids, owner)  # another IdP's: unknown
        for user_id in add:
            if user_id not in live:
                raise _unknown_member(user_id)
        for change in attributes:
            self.set_attribute(change.kind, change.value)
        self.added, self.removed = add, remove
        self._audit(self._attributes())
        cause = causes.group(self.group.id, self.group.display_name)
        queued = [
            member_batches.enqueue(
                self.store,
                self._entity(),
                remove,
                add,
                cause,
                self.actor,
                any_connection=self.scope.operator,
            )  # fmt: skip
        ]
        if self.group.display_name_key != self.before_key and self.mapped:
            renamed = causes.group_renamed(
                self.group.id, self.group.display_name, self.before["displayName"]
            )
            for key in (self.before_key, self.group.display_name_key):
                queued.append(recompute_queue.enqueue(self.store, key, renamed, self.actor))
        return queued

    @property
    def mapped(self) -> bool:
        return any(mapped_roles(self.mapping, self.connection_id, key) for key in self.keys)

    def apply(self, change: MembershipChange) -> None:
        kind = change.kind
        if kind == "add":
            for user_id in change.member_ids:
                self.add(user_id)
        elif kind == "remove":
            for user_id in change.member_ids:
                self.remove(user_id)
        elif kind in ("replace_all", "remove_all"):
            wanted = dict.fromkeys(change.member_ids if kind == "replace_all" else ())
            for user_id in sorted(self.visible_members() - wanted.keys()):
                self.remove(user_id)
            for user_id in wanted:
                self.add(user_id)
        else:
            self.set_attribute(kind, change.value)

    def add(self, user_id: str) -> None:
        if not self._sees(self.users.get(user_id)):
            raise _unknown_member(user_id)  # another connection's user is unknown here
        if self.members is not None and user_id in self.members:
            return  # adds are idempotent: IdPs repeat them
        at = sql_timestamp(self.store, self.store.clock())
        params = {"gid": self.group.id, "uid": user_id, "at": at}
        if not execute(self.store.db, _ADD_MEMBER, params).rowcount:
            return  # already a member
        self.group.member_count += 1
        self._note(user_id, self.added, True)

    def remove(self, user_id: str) -> None:
        if not is_resource_id(user_id):
            return  # never issued, so never a member
        if not self.scope.operator and not self._sees(self.store.db.User.get(id=user_id)):
            return  # another connection's user is as unknown as a non-member
        ids = {"gid": self.group.id, "uid": user_id}
        if not execute(self.store.db, _DROP_MEMBER, ids).rowcount:
            return  # removing a non-member is not an error
        self.group.member_count -= 1
        self._note(user_id, self.removed, False)

    def _note(self, user_id: str, log: list[str], member: bool) -> None:
        self.touched.add(user_id)
        log.append(user_id)
        if self.members is not None:
            (self.members.add if member else self.members.discard)(user_id)

    def _entity(self) -> entities.Group:
        """The group's entity: attributes and large changes are only made on it
        (``_change_group`` reads the row alone for member adds only)."""
        if isinstance(self.group, LockedGroup):
            raise TypeError("a change of the group's attributes needs its entity")
        return self.group

    def set_attribute(self, kind: str, value: Any) -> None:
        group = self._entity()
        if kind == "rename":
            name, key = check_group_name(value, "displayName", kept=trim(group.display_name))
            if name != group.display_name or key != group.display_name_key:  # stale key too
                _check_unique(self.store, group, key, group.connection)
                group.display_name, group.display_name_key = name, key
        elif kind == "external_id":
            external_id = _external_id(value)
            if external_id != group.external_id:
                group.external_id = external_id
        elif (document := check_document(value, "document")) != group.document:
            group.document = document

    def finish(self) -> bool:
        """Bump the version and audit once, recompute roles where needed. Changed?"""
        after = self._attributes()
        old = {k: v for k, v in self.before.items() if after[k] != v}
        changed = bool(old or self.added or self.removed)
        if changed:  # before recomputing, so the group row is written once
            lifecycle.touch(self.store, self.group)
            if isinstance(self.group, LockedGroup):
                self.group.write(self.store)
        if self.mapped:
            affected = set(self.touched)
            cause = causes.group(self.group.id, self.group.display_name)
            if self.group.display_name_key != self.before_key:
                affected |= self.current_members()
                previous = self.before["displayName"]
                cause = causes.group_renamed(self.group.id, self.group.display_name, previous)
            for user_id in sorted(affected):
                user = self.users.get(user_id)
                if user is not None:
                    lifecycle.recompute_user_roles(
                        self.store, user, self.actor, self.mapping, cause=cause
                    )
        if changed:
            self._audit(after)
        return changed

    def _audit(self, after: dict[str, Any]) -> None:
        old = {k: v for k, v in self.before.items() if after[k] != v}
        new = {k: after[k] for k in old}
        if self.added or self.removed:
            old["members"] = listed_ids(self.removed)
            new["members"] = listed_ids(self.added)
        detail = f"+{len(self.added)} -{len(self.removed)} member(s)"
        record_event(
            self.store, self.actor, AuditAction.GROUP_UPDATED, "group", self.group.id,
            self.group.display_name, old, new, detail,
        )  # fmt: skip

    @property
    def before_key(self) -> str:
        return group_key(self.before["displayName"])


@transaction
def create_group(
    store: Store,
    data: GroupInput,
    member_ids: tuple[str, ...],
    actor: str,
    scope: Scope = OPERATOR,
) -> GroupRecord:
    """A new group of ``scope``'s connection (an operator's: the ``default`` connection)
    with its initial members, each a live user of that scope: another connection's user is
    refused like an unknown one. The name must be free in that connection only."""
    name, key = check_group_name(data.display_name, "displayName")
    external_id = _external_id(data.external_id)
    document = check_document(data.document, "document")
    owner = connections.owner(store, scope, actor)
    lifecycle.lock_group_names(store, [key], int(owner.id))
    _check_unique(store, None, key, owner)
    users = _lock_users(store, member_ids)
    for user_id in member_ids:
        if user_id not in users or not scope.sees(users[user_id].connection.id):
            raise _unknown_member(user_id)
    now = store.clock()
    group = store.db.Group(
        id=store.new_id(), connection=owner, display_name=name, display_name_key=key,
        external_id=external_id, document=document, created=now, last_modified=now, version=1,
        member_count=len(users),
    )  # fmt: skip
    for user in users.values():
        store.db.Membership(group=group, user=user, created=now)
    mapping = lifecycle.mapping_table(store)
    if mapped_roles(mapping, int(owner.id), key):
        flush()  # the group's id is in the audit of each member's roles
        cause = causes.group(group.id, name)
        for user_id in sorted(users):
            lifecycle.recompute_user_roles(store, users[user_id], actor, mapping, cause=cause)
    record_event(
        store, actor, AuditAction.GROUP_CREATED, "group", group.id, name,
        after={"displayName": name, "externalId": external_id,
               "members": listed_ids(sorted(users))},
    )  # fmt: skip
    return group_record(group, members_of(store, [group.id], scope).get(group.id, ()))


def change_group(
    store: Store,
    group_id: str,
    plan: Callable[[GroupRecord], Sequence[MembershipChange]],
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
) -> GroupRecord:
    """PATCH: ``plan`` turns the current group (members not loaded) into changes, applied in
    order, all or nothing. Whatever ``plan`` raises propagates and nothing is applied.
    Returns the group without members (the API answers 204). Another connection's group is
    NotFound. A replacement that moves more than a batch of members commits its decision
    first and moves them in batches (``member_batches``) before this returns."""
    record, queued = member_batches.finish_first(
        store, lambda: _change_group(store, group_id, plan, actor, if_match, scope)
    )
    if not queued:
        return record
    recompute_queue.run_rows(store, queued)
    return get_group(store, group_id, include_members=False, scope=scope)


@transaction
def _change_group(
    store: Store,
    group_id: str,
    plan: Callable[[GroupRecord], Sequence[MembershipChange]],
    actor: str,
    if_match: ExpectedVersions,
    scope: Scope,
) -> tuple[GroupRecord, list[int]]:
    locked = _lock_group_row(store, group_id, if_match, scope)
    changes = list(plan(group_record(locked, None)))
    # Member adds (an IdP's usual PATCH) change only the member count, version and
    # lastModified: the row read under the lock carries them, written with one statement.
    # Any other change is made on the group's entity (its row already locked).
    adds_only = all(change.kind == "add" for change in changes)
    group = locked if adds_only else store.db.Group[locked.id]
    edit = _GroupEdit(store, group, actor, scope)
    queued = _apply(edit, changes)
    return group_record(group, None), queued


def _apply(edit: _GroupEdit, changes: Sequence[MembershipChange]) -> list[int]:
    """Apply ``changes`` in this transaction, or decide them and queue a large replacement's
    member moves (the queued rows' ids)."""
    queued = edit.replace_in_batches(changes)
    if queued is not None:
        return queued
    edit.prepare(changes)
    for change in changes:
        edit.apply(change)
    edit.finish()
    return []


def replace_group(
    store: Store,
    group_id: str,
    data: GroupInput,
    member_ids: tuple[str, ...],
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
) -> GroupRecord:
    """PUT: new attributes and exactly ``member_ids`` as the members ``scope`` sees
    (applied as deltas; more than a batch of them in batches, before this returns, as in
    ``change_group``). Another connection's group is NotFound."""
    record, queued = member_batches.finish_first(
        store, lambda: _replace_group(store, group_id, data, member_ids, actor, if_match, scope)
    )
    if not queued:
        return record
    recompute_queue.run_rows(store, queued)
    return get_group(store, group_id, scope=scope)


@transaction
def _replace_group(
    store: Store,
    group_id: str,
    data: GroupInput,
    member_ids: tuple[str, ...],
    actor: str,
    if_match: ExpectedVersions,
    scope: Scope,
) -> tuple[GroupRecord, list[int]]:
    group = _lock_group(store, group_id, if_match, scope)
    changes = [
        MembershipChange("rename", value=data.display_name),
        MembershipChange("external_id", value=data.external_id),
        MembershipChange("document", value=data.document),
        MembershipChange("replace_all", member_ids=tuple(member_ids)),
    ]
    edit = _GroupEdit(store, group, actor, scope)
    if queued := _apply(edit, changes):
        return group_record(group, None), queued
    return group_record(group, members_of(store, [group.id], scope).get(group.id, ())), []


def delete_group(
    store: Store,
    group_id: str,
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
    progress: role_sync.Progress | None = None,
) -> None:
    """Delete a group and its memberships; members lose the roles it gave them. The audit
    history stays. A group of more than one batch of members is decided and audited first,
    then emptied in batches (each member's roles follow in the batch that removes it) and
    deleted by the last one (``member_batches``), before this returns, so the deletion
    never holds the locks of thousands of users or rows at once; ``progress`` is called
    after each batch with (members removed, members in all)."""
    queued = member_batches.finish_first(
        store, lambda: _delete_group(store, group_id, actor, if_match, scope)
    )
    if queued is not None:
        recompute_queue.run_rows(store, [queued], progress)


@transaction
def _delete_group(
    store: Store, group_id: str, actor: str, if_match: ExpectedVersions, scope: Scope
) -> int | None:
    group = _lock_group(store, group_id, if_match, scope)
    key = group.display_name_key
    lifecycle.lock_group_names(store, [key], int(group.connection.id))
    memberships = store.db.Membership
    member_ids = sorted(select(m.user.id for m in memberships if m.group == group))
    mapping = lifecycle.mapping_table(store)
    mapped = bool(mapped_roles(mapping, int(group.connection.id), key))
    name = group.display_name
    before = {
        "displayName": name,
        "externalId": group.external_id,
        "members": listed_ids(member_ids),
    }
    cause = causes.group_deleted(group_id, name)
    queued = None
    if member_batches.is_large(len(member_ids)):  # audited now, emptied in batches
        queued = member_batches.enqueue(store, group, member_ids, (), cause, actor, delete=True)
    else:
        users = _lock_users(store, member_ids) if mapped else {}
        select(m for m in memberships if m.group == group).delete(bulk=True)
        group.delete()
        store.db.flush()
        for user_id in sorted(users):
            lifecycle.recompute_user_roles(store, users[user_id], actor, mapping, cause=cause)
    record_event(
        store, actor, AuditAction.GROUP_DELETED, "group", group_id, name,
        before=before,
    )  # fmt: skip
    return queued
