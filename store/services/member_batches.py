"""Large membership changes of one group, in batches committed as they go.

A group PUT or PATCH that moves more than ``role_sync.BATCH`` members, or the deletion of a
group of more than that many, decides everything in its first transaction (the If-Match
check, every new member a live user, the new name free, the attributes, the audit of the
whole change) and records what is left to do as a pending row of the recompute queue
(``recompute_queue``, migration 0009): the group and its plan, the members to remove then the
members to add, in id order. Each batch is then one transaction of at most ``BATCH`` member
moves: it locks the group row, the group name (so the mapping cannot change under it) and the
users it moves, inserts or deletes their membership rows with a few statements (a user
deleted, or moved to another connection, since the change was decided is not added: an IdP's
change adds only its own connection's live users, as its deciding transaction checked),
recomputes their IdP roles (``role_sync.apply_batch``, one ``roles.recomputed`` event per
changed user) when the group is mapped, and moves the row's cursor. The last batch bumps the group's
version (or, for a deletion, deletes the group row) and removes the pending row. IdP requests
run between batches.

While a group has a pending row, every write to that group (PATCH, PUT, DELETE) first
finishes it (``finish_first``), then runs against the finished state, so writes of one group
keep the order a single transaction would give them; the worker's reconcile finishes a row a
crash left behind, and the IdP's next push of the group finishes it too.

Version and ETag: the group's version moves once, when the last member has moved (the
version and response a single transaction would give). Reads in between show the members in
motion under the old version; any write with that version in If-Match waits for the end and
is then refused (412), as it would have been after a single transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pony.orm import flush

from store import entities
from store.context import Store
from store.domain import causes, limits
from store.domain.roles import mapped_roles
from store.queries.filtering import fetch_rows, in_list, sql_timestamp
from store.services import lifecycle, role_sync
from store.sql import connection, execute
from store.tx import read, transaction

R = TypeVar("R")

_PENDING_OF = 'SELECT "id" FROM "role_recompute_pending" WHERE "group_id" = $gid ORDER BY "id"'


class GroupBusy(Exception):
    """The group has a large change still moving members: finish it, then try again."""

    def __init__(self, pending_id: int) -> None:
        super().__init__(f"pending group change {pending_id}")
        self.pending_id = pending_id


def guard(store: Store, group: entities.Versioned) -> None:
    """Called on a group row locked for a write: refuse while a large change of it is
    unfinished (the caller's ``finish_first`` runs it and retries)."""
    rows = fetch_rows(store, _PENDING_OF + " LIMIT 1", {"gid": group.id})
    if rows:
        raise GroupBusy(int(rows[0][0]))


def finish_first(store: Store, write: Callable[[], R]) -> R:
    """Run ``write`` (one transaction on a group); while it finds a large change of the
    group unfinished, finish that change first and try again."""
    while True:
        try:
            return write()
        except GroupBusy as busy:
            run(store, busy.pending_id)


def is_large(moves: int) -> bool:
    """Whether moving this many members goes in batches."""
    return moves > role_sync.BATCH


def enqueue(
    store: Store,
    group: entities.Group,
    remove: Sequence[str],
    add: Sequence[str],
    cause: causes.Cause,
    actor: str,
    delete: bool = False,
    any_connection: bool = False,
) -> int:
    """Record a group's large change in the caller's (deciding) transaction; its id. The
    batches add only users still live and, unless ``any_connection`` (an operator's change),
    of the group's connection when they run."""
    plan = {"remove": sorted(remove), "add": sorted(add), "delete": delete,
            "any_connection": any_connection}  # fmt: skip
    row = store.db.PendingRecompute(
        group_name_key=group.display_name_key, cause=cause, actor=actor[: limits.ACTOR],
        created=store.clock(), group_id=group.id, members=plan,
    )  # fmt: skip
    flush()
    return int(row.id)


_LIVE = {
    "sqlite": 'SELECT "id" FROM "scim_user" WHERE "deleted_at" IS NULL AND "id" IN '
    "(SELECT value FROM json_each(?))",
    "postgres": 'SELECT "id" FROM "scim_user" WHERE "deleted_at" IS NULL AND "id" = ANY(%s)',
}
_OF_CONNECTION = {"sqlite": ' AND "connection_id" = ?', "postgres": ' AND "connection_id" = %s'}


def live_users(store: Store, ids: Sequence[str], connection_id: int | None = None) -> set[str]:
    """The live users among ``ids`` (of that connection only, when given), in one statement
    whatever their number (the ids travel as one bound parameter: a JSON array on SQLite, an
    array on PostgreSQL)."""
    if not ids:
        return set()
    cursor = connection(store.db).cursor()
    sql = _LIVE[store.provider]
    params: list[Any] = [json.dumps(list(ids)) if store.provider == "sqlite" else list(ids)]
    if connection_id is not None:
        sql += _OF_CONNECTION[store.provider]
        params.append(connection_id)
    cursor.execute(sql, tuple(params))
    return {str(row[0]) for row in cursor.fetchall()}


def run(store: Store, pending_id: int, progress: role_sync.Progress | None = None) -> int:
    """Run a group change's batches to the end (from wherever the last committed batch
    stopped); returns the role assignments changed here."""
    plan = _plan(store, pending_id)
    changed, held = 0, role_sync.Held()
    while plan is not None:
        with held:
            step = _step(store, pending_id, plan)
        if step is None:
            break
        changed += step[0]
        if progress is not None:
            progress(step[1], step[2])
        if step[1] >= step[2]:
            break
        role_sync.let_writers_in(store, held.seconds)
    return changed


_PLAN = 'SELECT "members" FROM "role_recompute_pending" WHERE "id" = $id'
_ROW = (
    'SELECT "group_id", "done", "changed", "actor", "cause" FROM "role_recompute_pending" '
    'WHERE "id" = $id'
)
_ADVANCE = (
    'UPDATE "role_recompute_pending" SET "done" = $done, "changed" = $changed WHERE "id" = $id'
)
_DROP = 'DELETE FROM "role_recompute_pending" WHERE "id" = $id'


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@read
def _plan(store: Store, pending_id: int) -> dict[str, Any] | None:
    """The row's plan, read once per run (it never changes): the member ids to move."""
    rows = fetch_rows(store, _PLAN, {"id": pending_id})
    return _json(rows[0][0]) if rows and rows[0][0] is not None else None


@transaction
def _step(store: Store, pending_id: int, plan: dict[str, Any]) -> tuple[int, int, int] | None:
    """One batch: (assignments changed, members moved so far, members to move), or None
    when the change is finished (here or by another runner)."""
    found = fetch_rows(store, _ROW, {"id": pending_id})
    if not found:
        return None
    group = store.db.Group.get_for_update(id=str(found[0][0]))  # the group's lock first
    if group is not None:
        lifecycle.lock_group_names(store, [group.display_name_key], int(group.connection.id))
    lock = " FOR UPDATE" if store.provider == "postgres" else ""
    found = fetch_rows(store, _ROW + lock, {"id": pending_id})  # now under the locks
    if not found:  # another runner finished it
        return None
    if group is None:  # deleted meanwhile: nothing left to move
        execute(store.db, _DROP, {"id": pending_id})
        return None
    _group_id, done, changed_before, actor, cause = found[0]
    moves = [(u, False) for u in plan["remove"]] + [(u, True) for u in plan["add"]]
    batch = moves[done : done + role_sync.BATCH]
    owner = None if plan.get("any_connection") else int(group.connection.id)
    removing, adding = [u for u, a in batch if not a], [u for u, a in batch if a]
    touched = _move(store, group, removing, adding, owner)
    changed = 0
    mapping = lifecycle.mapping_table(store)
    if touched and mapped_roles(mapping, int(group.connection.id), group.display_name_key):
        changed = role_sync.apply_batch(store, touched, str(actor), dict(_json(cause)))
    done += len(batch)
    if done >= len(moves):
        _finish(store, group, bool(plan.get("delete")))
        execute(store.db, _DROP, {"id": pending_id})
    else:
        execute(store.db, _ADVANCE, {"id": pending_id, "done": done,
                                     "changed": changed_before + changed})  # fmt: skip
    return changed, done, len(moves)


_MEMBERS_AMONG = 'SELECT "user" FROM "scim_membership" WHERE "group" = $gid AND "user" IN '
_INSERT = 'INSERT INTO "scim_membership" ("group", "user", "created") VALUES '


def _move(
    store: Store, group: entities.Group, remove: list[str], add: list[str], owner: int | None
) -> list[str]:
    """Take out ``remove`` and put in the users of ``add`` that are live and of connection
    ``owner`` (None: any) now, locked in id order (a user deleted or moved to another
    connection since the change was decided is not added); the users whose membership
    changed."""
    live = {
        user.id
        for user in role_sync.lock_users(store, remove + add)
        if user.live and (owner is None or user.connection_id == owner)
    }
    marks, params = in_list(remove + add, "u")
    present = {
        str(r[0]) for r in fetch_rows(store, _MEMBERS_AMONG + marks, {**params, "gid": group.id})
    }
    removed = [u for u in remove if u in present]
    added = [u for u in add if u in live and u not in present]
    if removed:
        marks, params = in_list(removed, "u")
        sql = f'DELETE FROM "scim_membership" WHERE "group" = $gid AND "user" IN {marks}'
        execute(store.db, sql, {**params, "gid": group.id})
    if added:
        at = sql_timestamp(store, store.clock())
        rows = [(group.id, user_id, at) for user_id in added]
        cursor = connection(store.db).cursor()
        if store.provider == "postgres":
            from psycopg2.extras import execute_values

            execute_values(cursor, _INSERT + "%s", rows, page_size=1000)
        else:
            cursor.executemany(_INSERT + "(?, ?, ?)", rows)
    group.member_count += len(added) - len(removed)
    return sorted(removed + added)


def _finish(store: Store, group: entities.Group, delete: bool) -> None:
    if not delete:
        lifecycle.touch(store, group)
        return
    execute(store.db, 'DELETE FROM "scim_membership" WHERE "group" = $gid', {"gid": group.id})
    group.delete()
