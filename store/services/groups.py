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
from typing import Any

from pony.orm import flush, select

from store.context import Store
from store.domain import causes, limits
from store.domain.enums import AuditAction
from store.domain.ids import is_resource_id
from store.domain.names import group_key, trim
from store.domain.roles import mapped_roles
from store.domain.scope import OPERATOR, Scope
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.groups import group_record, members_of
from store.queries.users import plain
from store.records import ExpectedVersions, GroupInput, GroupRecord, MembershipChange
from store.services import connections, lifecycle, recompute_queue, role_sync
from store.services.audit import record_event
from store.services.validation import check_document, check_name, check_text
from store.tx import transaction

AUDIT_ID_LIMIT = 1000
"""Member ids listed in one audit event; beyond that only the counts are kept."""
_KINDS = ("add", "remove", "replace_all", "remove_all", "rename", "external_id", "document")


def _name(value: Any, kept: str | None = None) -> tuple[str, str]:
    """A group displayName as stored (trimmed, no deceiving character unless it is the name
    ``kept`` already) and its key (``names.group_key``)."""
    name = check_text(value, "displayName", limits.DISPLAY_NAME, required=True)
    name = check_name(trim(name), "displayName", limits.DISPLAY_NAME, required=True, kept=kept)
    return name, check_text(group_key(name), "displayName", limits.DISPLAY_NAME)


def _external_id(value: Any) -> str | None:
    return check_text(value or None, "externalId", limits.EXTERNAL_ID)


def _check_unique(store: Store, group: Any, key: str, connection: Any) -> None:
    """Group names are unique (folded) within a connection: two IdPs may each push a group
    of one name, and each gets its own. externalId is the client's and need not be unique
    (RFC 7643 §3.1)."""
    other = store.db.Group.get(connection=connection, display_name_key=key)
    if other not in (None, group):
        raise Conflict(f"a group named {other.display_name!r} exists", attribute="displayName")


def _unknown_member(user_id: object) -> InvalidInput:
    shown = repr(user_id)[:82]  # a hostile id can be as long as the body: never echo it whole
    return InvalidInput(f"member {shown} is not a known user", attribute="members")


def _lock_users(store: Store, user_ids: Iterable[str]) -> dict[str, Any]:
    """Lock the live users among ``user_ids`` in id order; unknown or deleted are absent."""
    ids = sorted({user_id for user_id in user_ids if is_resource_id(user_id)})
    users = store.db.User
    locked: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(u for u in users if u.id in chunk and u.deleted_at is None)
        for user in query.order_by(lambda u: u.id).for_update():
            locked[user.id] = user
    return locked


def _lock_group(
    store: Store, group_id: str, if_match: ExpectedVersions, scope: Scope = OPERATOR
) -> Any:
    """The group row ``scope`` sees, locked, or NotFound (another connection's too)."""
    group = store.db.Group.get_for_update(id=group_id) if is_resource_id(group_id) else None
    if group is None or not scope.sees(group.connection.id):
        raise NotFound(f"group {group_id} not found")
    lifecycle.check_version(group, "group", if_match)
    return group


class _GroupEdit:
    """Applies membership changes to one locked group, as deltas, in the caller's order."""

    def __init__(self, store: Store, group: Any, actor: str, scope: Scope = OPERATOR) -> None:
        self.store, self.group, self.actor, self.scope = store, group, actor, scope
        self.connection_id = int(group.connection.id)
        self.mapping: lifecycle.MappingTable = {}  # read in prepare, under the name locks
        self.members: set[str] | None = None  # loaded only when a change needs the full set
        self.users: dict[str, Any] = {}
        self.touched: set[str] = set()
        self.added: list[str] = []
        self.removed: list[str] = []
        self.before = self._attributes()
        self.keys = {group.display_name_key}  # every name the group has during the request

    def _attributes(self) -> dict[str, Any]:
        g = self.group
        document = plain(g.document)
        return {"displayName": g.display_name, "externalId": g.external_id, "document": document}

    def current_members(self) -> set[str]:
        """Every member, whoever sees it (their roles follow the group's name)."""
        if self.members is None:
            memberships, group = self.store.db.Membership, self.group
            self.members = set(select(m.user.id for m in memberships if m.group == group))
        return self.members

    def visible_members(self) -> set[str]:
        """The members the caller sees: all that a replace or remove-all may take out. A
        member of another connection (an upgrade's or a transfer's) stays until its own
        connection or an operator changes it."""
        members = self.current_members()
        if self.scope.operator:
            return members
        memberships, group, owner = self.store.db.Membership, self.group, self.scope.connection_id
        return set(
            select(
                m.user.id for m in memberships if m.group == group and m.user.connection.id == owner
            )
        )

    def _sees(self, user: Any) -> bool:
        return user is not None and self.scope.sees(user.connection.id)

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
        self.users = _lock_users(self.store, ids)

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
        user = self.users.get(user_id)
        if not self._sees(user):
            raise _unknown_member(user_id)  # another connection's user is unknown here
        if self.members is not None:
            present = user_id in self.members
        else:
            present = self.store.db.Membership.get(group=self.group, user=user) is not None
        if present:
            return  # adds are idempotent: IdPs repeat them
        self.store.db.Membership(group=self.group, user=user, created=self.store.clock())
        self.group.member_count += 1
        self._note(user_id, self.added, True)

    def remove(self, user_id: str) -> None:
        if not is_resource_id(user_id):
            return  # never issued, so never a member
        if not self.scope.operator and not self._sees(self.store.db.User.get(id=user_id)):
            return  # another connection's user is as unknown as a non-member
        membership = self.store.db.Membership.get(group=self.group.id, user=user_id)
        if membership is None:
            return  # removing a non-member is not an error
        membership.delete()
        membership.flush()  # lets the same member be added back within this request
        self.group.member_count -= 1
        self._note(user_id, self.removed, False)

    def _note(self, user_id: str, log: list[str], member: bool) -> None:
        self.touched.add(user_id)
        log.append(user_id)
        if self.members is not None:
            (self.members.add if member else self.members.discard)(user_id)

    def set_attribute(self, kind: str, value: Any) -> None:
        group = self.group
        if kind == "rename":
            name, key = _name(value, kept=trim(group.display_name))
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
            new = {k: after[k] for k in old}
            if self.added or self.removed:
                old["members"] = _ids(self.removed)
                new["members"] = _ids(self.added)
            detail = f"+{len(self.added)} -{len(self.removed)} member(s)"
            record_event(
                self.store, self.actor, AuditAction.GROUP_UPDATED, "group", self.group.id,
                self.group.display_name, old, new, detail,
            )  # fmt: skip
        return changed

    @property
    def before_key(self) -> str:
        return group_key(self.before["displayName"])


def _ids(ids: list[str]) -> list[str] | dict[str, int]:
    return list(ids) if len(ids) <= AUDIT_ID_LIMIT else {"count": len(ids)}


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
    name, key = _name(data.display_name)
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
        after={"displayName": name, "externalId": external_id, "members": _ids(sorted(users))},
    )  # fmt: skip
    return group_record(group, members_of(store, [group.id], scope).get(group.id, ()))


@transaction
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
    NotFound."""
    group = _lock_group(store, group_id, if_match, scope)
    changes = list(plan(group_record(group, None)))
    edit = _GroupEdit(store, group, actor, scope)
    edit.prepare(changes)
    for change in changes:
        edit.apply(change)
    edit.finish()
    return group_record(group, None)


@transaction
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
    (applied as deltas). Another connection's group is NotFound."""
    group = _lock_group(store, group_id, if_match, scope)
    changes = [
        MembershipChange("rename", value=data.display_name),
        MembershipChange("external_id", value=data.external_id),
        MembershipChange("document", value=data.document),
        MembershipChange("replace_all", member_ids=tuple(member_ids)),
    ]
    edit = _GroupEdit(store, group, actor, scope)
    edit.prepare(changes)
    for change in changes:
        edit.apply(change)
    edit.finish()
    return group_record(group, members_of(store, [group.id], scope).get(group.id, ()))


def delete_group(
    store: Store,
    group_id: str,
    actor: str,
    if_match: ExpectedVersions = None,
    scope: Scope = OPERATOR,
) -> None:
    """Delete a group and its memberships; members lose the roles it gave them. The audit
    history stays. A mapped group of more than one batch of members is deleted first and
    its former members' roles follow in batches (``recompute_queue``), so the deletion
    never holds the locks of thousands of users at once."""
    queued = _delete_group(store, group_id, actor, if_match, scope)
    if queued is not None:
        recompute_queue.run(store, *queued)


@transaction
def _delete_group(
    store: Store, group_id: str, actor: str, if_match: ExpectedVersions, scope: Scope
) -> tuple[int, str] | None:
    group = _lock_group(store, group_id, if_match, scope)
    key = group.display_name_key
    lifecycle.lock_group_names(store, [key], int(group.connection.id))
    memberships = store.db.Membership
    member_ids = sorted(select(m.user.id for m in memberships if m.group == group))
    mapping = lifecycle.mapping_table(store)
    mapped = bool(mapped_roles(mapping, int(group.connection.id), key))
    large = mapped and len(member_ids) > role_sync.BATCH
    users = _lock_users(store, member_ids) if mapped and not large else {}
    before = {
        "displayName": group.display_name,
        "externalId": group.external_id,
        "members": _ids(member_ids),
    }
    select(m for m in memberships if m.group == group).delete(bulk=True)
    group.delete()
    store.db.flush()
    cause = causes.group_deleted(group_id, before["displayName"])
    for user_id in sorted(users):
        lifecycle.recompute_user_roles(store, users[user_id], actor, mapping, cause=cause)
    queued = recompute_queue.enqueue(store, key, cause, actor) if large else None
    record_event(
        store,
        actor,
        AuditAction.GROUP_DELETED,
        "group",
        group_id,
        before["displayName"],
        before=before,
    )
    return (queued, key) if queued is not None else None
