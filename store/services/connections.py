"""IdP connections: create, rename, list, remove, and hand one IdP's users and groups to another.

A connection is one identity provider. Its tokens authenticate as it; the users and groups
it creates are its own, and no other connection's token can see them (``domain.scope``).
Names follow ``domain.connections`` (trimmed, NFC, at most 64 characters, nothing
invisible; compared like token names). Every change is one transaction with its audit.

A transfer moves a connection's live users (and, unless ``users_only``, its groups) to
another connection, all or nothing: the new IdP's lookups (``filter=userName eq ...``) then
find them instead of creating duplicates. Memberships, manual roles and the audit history
stay as they are; the IdP roles of the moved groups' members follow the mapping rows of the
connection that now owns the groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pony.orm import flush

from store import entities
from store.context import Store, as_utc
from store.domain import causes, limits
from store.domain import connections as rules
from store.domain.enums import AuditAction
from store.domain.names import closest_names, fold
from store.domain.scope import Scope
from store.errors import InvalidInput, NotFound, Revoked
from store.queries.filtering import chunked_in, chunks, fetch_rows
from store.queries.tokens import token_record
from store.records import ConnectionRecord, TransferItem, TransferPlan
from store.services import lifecycle, role_sync
from store.services.audit import listed_ids, record_event
from store.sql import execute
from store.tx import read, transaction

_REMOVED = "#removed#"


# ---- lookups --------------------------------------------------------------------------------


def connection_entity(
    store: Store, name: str, attribute: str = "connection"
) -> entities.Connection:
    """The (not removed) connection of that name, compared as ``rules.name_key``, or
    NotFound naming the closest known names."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a connection name is required, e.g. 'Okta'", attribute)
    found = store.db.Connection.get(name_key=rules.name_key(name.strip()))
    if found is None or found.removed_at is not None:
        known = [c.name for c in store.db.Connection.select(lambda c: c.removed_at is None)]
        near = closest_names(name, known)
        hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
        listed = ", ".join(sorted(known, key=fold)[:10]) or "none yet"
        raise NotFound(f"no connection named {name.strip()!r}{hint}; connections: {listed}")
    return found


def new_connection(
    store: Store,
    name: str,
    kind: str | None,
    actor: str,
    attribute: str = "name",
    domains: object = None,
) -> entities.Connection:
    """Create a connection (in the caller's transaction); InvalidInput when the name is bad
    or taken (a token for an existing connection is issued with ``--connection NAME``), or
    when ``domains`` (None: any userName) breaks ``rules.clean_domains``."""
    name = rules.clean_name(name, attribute)
    kind = rules.clean_kind(kind)
    allowed = None if domains is None else rules.clean_domains(domains)
    key = rules.name_key(name)
    existing = store.db.Connection.get(name_key=key)
    if existing is not None:
        raise InvalidInput(
            f"a connection named {existing.name!r} already exists; to issue a token for it, "
            f"use --connection {existing.name!r}",
            attribute,
        )
    connection = store.db.Connection(
        name=name, name_key=key, kind=kind, created_at=store.clock(),
        domains=rules.stored_domains(allowed),
    )  # fmt: skip
    flush()
    after: dict[str, Any] = {"name": name, "kind": kind}
    if allowed:
        after["domains"] = list(allowed)
    record_event(
        store, actor, AuditAction.CONNECTION_CREATED, "connection", str(connection.id), name,
        after=after,
    )  # fmt: skip
    return connection


def default_connection(store: Store, actor: str) -> entities.Connection:
    """The ``default`` connection, created when first needed: the owner of what an operator
    (not an IdP) creates, as of what an upgrade could not attribute to a token."""
    found = store.db.Connection.get(name_key=rules.name_key(rules.DEFAULT))
    if found is not None and found.removed_at is None:
        return found
    try:
        return new_connection(store, rules.DEFAULT, None, actor)
    except InvalidInput:  # made by a concurrent transaction that committed since the read
        found = store.db.Connection.get(name_key=rules.name_key(rules.DEFAULT))
        if found is not None and found.removed_at is None:
            return found
        raise


_HOLD = 'SELECT "removed_at", "domains" FROM "scim_connection" WHERE "id" = $connection_id'


def _held(store: Store, connection_id: int, exclusive: bool) -> tuple[bool, tuple[str, ...]]:
    """Whether the connection is live, and its userName domains, as ``hold`` holds it."""
    sql = _HOLD
    if store.provider == "postgres":
        sql += " FOR UPDATE" if exclusive else " FOR SHARE"
    rows = execute(store.db, sql, {"connection_id": connection_id}).rows
    if not rows:
        return False, ()
    return rows[0][0] is None, rules.domains_of(rows[0][1])


def hold(store: Store, connection: entities.Connection, exclusive: bool = False) -> bool:
    """Whether the connection is still live, its row then held until commit so a removal
    or a transfer never misses what is added to it. Shared (PostgreSQL: FOR SHARE, so
    creations never wait for each other) by whatever gives it a user, group or token;
    exclusive (FOR UPDATE) by a removal or a transfer, which count or list what it owns,
    and by a change of its domains. SQLite: the single writer lock, taken now."""
    return _held(store, int(connection.id), exclusive)[0]


def held_domains(store: Store, connection_id: int) -> tuple[str, ...]:
    """The userName domains a connection's tokens may create or rename users in (empty:
    any; the rule is ``rules.check_user_name``), read as the row is held (``hold``,
    shared), so a change of them commits wholly before or after the write that obeys them.
    Revoked when the connection was removed since the request authenticated: nothing may
    then be created where no token or operator command reaches it."""
    live, domains = _held(store, connection_id, exclusive=False)
    if not live:
        raise Revoked("Invalid or revoked token: its connection was removed")
    return domains


def owner_and_domains(store: Store, scope: Scope, actor: str) -> tuple[int, tuple[str, ...] | None]:
    """The id of the connection a resource created in ``scope`` belongs to (held:
    ``hold``), and for a token the userName domains it is limited to (``held_domains``;
    None for an operator, whom they do not limit): the token's connection, or for an
    operator the ``default`` connection. Revoked when the token's connection was removed
    since its request authenticated."""
    if scope.connection_id is None:
        return int(default_connection(store, actor).id), None
    return int(scope.connection_id), held_domains(store, int(scope.connection_id))


def owner_id(store: Store, scope: Scope, actor: str) -> int:
    """The id of the connection a resource created in ``scope`` belongs to (held, as in
    ``owner_and_domains``)."""
    return owner_and_domains(store, scope, actor)[0]


def owner(store: Store, scope: Scope, actor: str) -> entities.Connection:
    """``owner_id``'s connection, as an entity (for rows that link to it by relation)."""
    return store.db.Connection[owner_id(store, scope, actor)]


# ---- records --------------------------------------------------------------------------------

_COUNTS = (
    'SELECT "connection_id", COUNT(*) FROM "scim_user" WHERE "deleted_at" IS NULL '
    'GROUP BY "connection_id"'
)
_GROUP_COUNTS = 'SELECT "connection_id", COUNT(*) FROM "scim_group" GROUP BY "connection_id"'


def _token_order(token: entities.ScimToken) -> tuple[bool, datetime, int]:
    return token.revoked_at is not None, token.created, int(token.id)


def _records(store: Store, connections: Iterable[entities.Connection]) -> list[ConnectionRecord]:
    users = {int(c): int(n) for c, n in fetch_rows(store, _COUNTS, {})}
    groups = {int(c): int(n) for c, n in fetch_rows(store, _GROUP_COUNTS, {})}
    now, hours = store.clock(), store.settings.worker.stale_after_hours
    found = []
    for connection in connections:
        tokens = sorted(connection.tokens, key=_token_order)
        active = [t for t in tokens if t.revoked_at is None]
        found.append(
            ConnectionRecord(
                id=int(connection.id),
                name=connection.name,
                kind=connection.kind,
                created_at=as_utc(connection.created_at),
                user_count=users.get(int(connection.id), 0),
                group_count=groups.get(int(connection.id), 0),
                last_used=as_utc(rules.last_used(t.last_used for t in tokens)),
                status=rules.status(((t.last_used, t.created) for t in active), now, hours),
                tokens=tuple(token_record(t, now, hours) for t in tokens),
                domains=rules.domains_of(connection.domains),
            )
        )
    return found


@read
def list_connections(store: Store) -> list[ConnectionRecord]:
    """Every connection (not removed), by name, each with its tokens (active first, then by
    creation), owned users and groups, Last Used and status."""
    live = store.db.Connection.select(lambda c: c.removed_at is None)
    return sorted(_records(store, live), key=lambda r: (fold(r.name), r.id))


@read
def get_connection(store: Store, name: str) -> ConnectionRecord:
    """One connection by name (any case), or NotFound."""
    return _records(store, [connection_entity(store, name)])[0]


# ---- changes --------------------------------------------------------------------------------


@transaction
def create_connection(
    store: Store, name: str, kind: str | None, actor: str, domains: object = None
) -> ConnectionRecord:
    """A new connection with no token yet (issue one with ``issue_token(connection=...)``),
    limited to ``domains`` when given (``rules.clean_domains``)."""
    connection = new_connection(store, name, kind, actor, domains=domains)
    return _records(store, [connection])[0]


_LIVE_NAMES = (
    'SELECT "user_name" FROM "scim_user" WHERE "connection_id" = $connection_id '
    'AND "deleted_at" IS NULL'
)


@transaction
def set_connection_domains(
    store: Store, name: str, domains: object, actor: str
) -> tuple[ConnectionRecord, int]:
    """Limit a connection's tokens to userNames in ``domains`` (``rules.clean_domains``), or
    with None let them use any userName again. Audited (``connection.domains_changed``,
    old and new) when it changes anything. Users the connection already owns are not
    touched: the answer counts its live users outside the new domains (0 with none), who
    keep their userNames and may still be updated by the IdP, but not renamed to another
    name outside them."""
    connection = connection_entity(store, name)
    if not hold(store, connection, exclusive=True):  # removed meanwhile: not found now
        raise NotFound(f"no connection named {name.strip()!r}")
    allowed = None if domains is None else rules.clean_domains(domains)
    before = rules.domains_of(connection.domains)
    after = allowed or ()
    if after != before:
        connection.domains = rules.stored_domains(allowed)
        record_event(
            store, actor, AuditAction.CONNECTION_DOMAINS_CHANGED, "connection",
            str(connection.id), connection.name,
            before={"domains": list(before) or None}, after={"domains": list(after) or None},
        )  # fmt: skip
    outside = 0
    if after:
        params = {"connection_id": int(connection.id)}
        names = fetch_rows(store, _LIVE_NAMES, params)
        outside = sum(1 for (user_name,) in names if not rules.user_name_allowed(user_name, after))
    return _records(store, [connection])[0], outside


@transaction
def rename_connection(store: Store, old: str, new: str, actor: str) -> ConnectionRecord:
    """Rename a connection. Its tokens, users, groups and mapping rows follow (they refer to
    it by id); request-log rows written before keep the name they were written with."""
    connection = connection_entity(store, old)
    name = rules.clean_name(new, "name")
    key = rules.name_key(name)
    other = store.db.Connection.get(name_key=key)
    if other is not None and other is not connection:
        raise InvalidInput(f"a connection named {other.name!r} already exists", "name")
    before = connection.name
    if name != before:
        connection.name, connection.name_key = name, key
        record_event(
            store, actor, AuditAction.CONNECTION_RENAMED, "connection", str(connection.id), name,
            before={"name": before}, after={"name": name},
        )  # fmt: skip
    return _records(store, [connection])[0]


@transaction
def remove_connection(store: Store, name: str, actor: str) -> ConnectionRecord:
    """Remove a connection that owns no live user and no group (transfer them first). Its
    active tokens are revoked and its mapping rows removed (they matched only its groups,
    so no role changes) in the same transaction; the name is free again."""
    connection = connection_entity(store, name)
    if not hold(store, connection, exclusive=True):  # removed meanwhile: not found now
        raise NotFound(f"no connection named {name.strip()!r}")
    record = _records(store, [connection])[0]
    if record.user_count or record.group_count:
        raise InvalidInput(
            f"connection {connection.name!r} owns {record.user_count} user(s) and "
            f"{record.group_count} group(s): transfer them to another connection first "
            f"(connection transfer --from {connection.name!r} --to OTHER)",
            "connection",
        )
    from store.services.tokens import revoke_token_entity  # tokens import this module

    now, why = store.clock(), f"connection {connection.name!r} removed"
    for token in list(connection.tokens):
        if token.revoked_at is None:
            revoke_token_entity(store, token, actor, detail=why)
    for mapping in list(connection.mappings):
        record_event(
            store, actor, AuditAction.MAPPING_REMOVED, "mapping",
            mapping.group_name_key[: limits.AUDIT_TARGET_ID],
            f"{mapping.group_name} -> {mapping.role.name}",
            before={"group": mapping.group_name, "role": mapping.role.name,
                    "mapping_id": mapping.id, "connection": connection.name},
            detail=why,
        )  # fmt: skip
        mapping.delete()
    connection.removed_at = now
    connection.name_key = f"{connection.name_key[:200]}{_REMOVED}{connection.id}"
    record_event(
        store, actor, AuditAction.CONNECTION_REMOVED, "connection", str(connection.id),
        connection.name,
        before={"name": connection.name, "kind": connection.kind},
    )  # fmt: skip
    return record


# ---- transfer -------------------------------------------------------------------------------

_LIVE_USERS = (
    'SELECT "id", "user_name", "user_name_key" FROM "scim_user" WHERE "connection_id" = $source '
    'AND "deleted_at" IS NULL ORDER BY "id"'
)
_GROUPS = (
    'SELECT "id", "display_name", "display_name_key" FROM "scim_group" '
    'WHERE "connection_id" = $source ORDER BY "id"'
)
_CLASHES = (
    'SELECT s."display_name", t."display_name" FROM "scim_group" s JOIN "scim_group" t '
    'ON t."display_name_key" = s."display_name_key" WHERE s."connection_id" = $source '
    'AND t."connection_id" = $target ORDER BY s."display_name_key"'
)
_MOVE = 'UPDATE "{table}" SET "connection_id" = $target WHERE "connection_id" = $source AND {ids}'
_MEMBERS = 'SELECT DISTINCT "user" FROM "scim_membership" WHERE {ids}'


@transaction
def transfer_connection(
    store: Store,
    from_name: str,
    to_name: str,
    users_only: bool = False,
    dry_run: bool = False,
    actor: str = "operator",
) -> TransferPlan:
    """Hand the live users of ``from_name`` (and its groups, unless ``users_only``) to
    ``to_name``. Refused, with nothing moved, when the two are one connection, either is
    unknown, or a group name of the source is taken in the target. ``dry_run`` returns the
    plan and changes nothing. Audited as one ``connection.transferred`` event plus a
    ``user.transferred`` / ``group.transferred`` event per resource moved.

    What moves is exactly what the plan lists: the plan is read under the locks the move
    holds until commit (both connections, which a creation waits for; the source's group
    rows and users; as for a mapping edit, the mapping and the moved groups' names), and
    the move names each resource by id, so nothing moves unlisted or unaudited."""
    source = connection_entity(store, from_name, "from")
    target = connection_entity(store, to_name, "to")
    if source is target:
        raise InvalidInput(
            f"cannot transfer connection {source.name!r} into itself: name another connection",
            "to",
        )
    ids = {"source": int(source.id), "target": int(target.id)}
    lock = not dry_run
    if lock:  # neither is removed, nor given a user or group, until commit
        for connection in sorted((source, target), key=lambda c: int(c.id)):
            if not hold(store, connection, exclusive=True):
                raise NotFound(f"connection {connection.name!r} was removed: nothing moved")
    groups = [] if users_only else _read(store, _GROUPS, ids, lock)
    if groups and lock:
        # The order of every group change: group rows, then (as for a mapping edit) the
        # mapping, then the names, so the moved groups' roles follow the target's mapping.
        lifecycle.lock_mapping_edits(store)
        lifecycle.lock_group_names(store, {str(key) for _i, _n, key in groups})
    if not users_only:
        _refuse_clashes(store, source, target, ids)
    users = _read(store, _LIVE_USERS, ids, lock)
    plan = TransferPlan(
        source.name, target.name, _items(users), _items(groups), dry_run, users_only
    )
    if lock:
        _move(store, plan, ids, actor)
    return plan


def _read(store: Store, sql: str, ids: dict[str, int], lock: bool) -> list[tuple[Any, ...]]:
    """The rows of ``sql``; with ``lock``, locked until commit (PostgreSQL: FOR UPDATE, in
    id order; SQLite: the writer lock the caller holds)."""
    if lock and store.provider == "postgres":
        sql = f"{sql} FOR UPDATE"
    return fetch_rows(store, sql, ids)


def _items(rows: Iterable[tuple[Any, ...]]) -> tuple[TransferItem, ...]:
    """(id, name, folded name) rows as plan items, by folded name then id."""
    ordered = sorted(rows, key=lambda row: (str(row[2]), str(row[0])))
    return tuple(TransferItem(str(i), str(n)) for i, n, _k in ordered)


def _refuse_clashes(
    store: Store, source: entities.Connection, target: entities.Connection, ids: dict[str, int]
) -> None:
    clashes = fetch_rows(store, _CLASHES, ids)
    if clashes:
        names = ", ".join(repr(str(row[0])) for row in clashes[:5])
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        raise InvalidInput(
            f"group name(s) {names}{more} exist in both {source.name!r} and {target.name!r}: "
            "rename or delete one of each pair first, or transfer with --users-only; "
            "nothing was transferred",
            "to",
        )


def _move(store: Store, plan: TransferPlan, ids: dict[str, int], actor: str) -> None:
    """Move the plan's (locked) users and groups, audit it, and recompute the roles of the
    moved groups' members: those groups now follow the target's mapping rows."""
    group_ids = sorted(item.id for item in plan.groups)
    members: set[str] = set()
    for condition, params in chunked_in('"group"', group_ids):
        members.update(
            str(row[0]) for row in fetch_rows(store, _MEMBERS.format(ids=condition), params)
        )
    for table, items in (("scim_user", plan.users), ("scim_group", plan.groups)):
        for condition, params in chunked_in('"id"', sorted(item.id for item in items)):
            execute(store.db, _MOVE.format(table=table, ids=condition), {**params, **ids})
    _audit(store, plan, ids, actor)
    if members:
        cause = causes.transferred(plan.source, plan.target)
        for batch in chunks(sorted(members), role_sync.BATCH):
            role_sync.apply_batch(store, batch, actor, cause)


def _ids(items: Sequence[TransferItem]) -> list[str] | dict[str, int]:
    return listed_ids([item.id for item in items])


def _audit(store: Store, plan: TransferPlan, ids: dict[str, int], actor: str) -> None:
    moved = {"from": plan.source, "to": plan.target}
    record_event(
        store, actor, AuditAction.CONNECTION_TRANSFERRED, "connection", str(ids["source"]),
        plan.source,
        before={"connection": plan.source},
        after={**moved, "users_only": plan.users_only, "users": _ids(plan.users),
               "groups": _ids(plan.groups)},
        detail=f"{len(plan.users)} user(s) and {len(plan.groups)} group(s) from "
        f"{plan.source!r} to {plan.target!r}",
    )  # fmt: skip
    moves = (
        ("user", AuditAction.USER_TRANSFERRED, plan.users),
        ("group", AuditAction.GROUP_TRANSFERRED, plan.groups),
    )
    for kind, action, items in moves:
        for item in items:
            record_event(
                store, actor, action, kind, item.id, item.name,
                before={"connection": plan.source}, after={"connection": plan.target},
            )  # fmt: skip
