"""Role recomputations that a mapping edit queues: run in batches, finished after a restart.

A mapping edit commits its mapping row, its audit event and a pending row (group name,
cause, actor) in one transaction. The IdP roles of everyone the name concerns (the members
of the group under that name, and whoever holds an IdP role through it) are then recomputed
in batches of ``role_sync.BATCH`` users, each its own transaction that takes the locks the
edit took (mapping edits one at a time, then the group name's lock), recomputes from what it
reads, and moves the pending row's cursor past the users it did. Between batches IdP
requests run. Whoever runs a pending row (the operator's command, or the worker's reconcile
after a crash or restart) continues where the last committed batch stopped; the row goes
when the last batch finds nobody left.

Each changed user gets one ``roles.recomputed`` event carrying the edit's cause.
"""

from __future__ import annotations

from pony.orm import flush

from store.context import Store
from store.domain import causes, limits
from store.queries.filtering import fetch_rows, sql_datetime, sql_json
from store.records import LargeChange
from store.services import lifecycle, member_batches, role_sync
from store.tx import read, transaction

_AFFECTED = (
    'SELECT ms."user" FROM "scim_membership" ms JOIN "scim_group" g ON g."id" = ms."group" '
    'WHERE g."display_name_key" = $key AND ms."user" > $after '
    'UNION SELECT a."user" FROM "control_role_assignment" a '
    'WHERE a."source" = \'idp\' AND a."via_group" = $key AND a."user" > $after '
    "ORDER BY 1"
)
_PENDING = 'SELECT "id", "group_name_key", "group_id" FROM "role_recompute_pending" ORDER BY "id"'
_PROGRESS = (
    'SELECT "id", "group_name_key", "group_id", "cause", "actor", "created", "done", '
    '"after_user", "members" FROM "role_recompute_pending" ORDER BY "id"'
)


def lock_mapping_edits(store: Store, key: str) -> None:
    """Mapping edits (and the batches they queue) run one at a time across processes, each
    with a mapping no other edit is changing underneath it, holding the group name's lock,
    which the group use cases take too before they read the mapping. On SQLite the name
    lock is the single writer lock."""
    lifecycle.lock_mapping_edits(store)
    lifecycle.lock_group_names(store, [key])


def enqueue(store: Store, key: str, cause: causes.Cause, actor: str) -> int:
    """Queue the recomputation of everyone ``key`` concerns, in the caller's transaction
    (the edit's, so the edit and its queued work commit together). Returns the row's id."""
    row = store.db.PendingRecompute(
        group_name_key=key, cause=cause, actor=actor[: limits.ACTOR], created=store.clock()
    )
    flush()
    return int(row.id)


@read
def affected_count(store: Store, key: str) -> int:
    """How many users the name concerns now (the progress total; it may move meanwhile)."""
    sql = f"SELECT COUNT(*) FROM ({_AFFECTED}) x"
    return int(fetch_rows(store, sql, {"key": key, "after": ""})[0][0])


@transaction
def _step(store: Store, pending_id: int, key: str) -> tuple[int, int] | None:
    """One batch of a pending row: (assignments changed, users done so far), or None when
    the row is finished (and now gone) or another runner finished it."""
    lock_mapping_edits(store, key)
    row = store.db.PendingRecompute.get_for_update(id=pending_id)
    if row is None:
        return None
    sql = f"{_AFFECTED} LIMIT {role_sync.BATCH}"
    ids = [str(r[0]) for r in fetch_rows(store, sql, {"key": key, "after": row.after_user})]
    if not ids:
        row.delete()
        return None
    changed = role_sync.apply_batch(store, ids, row.actor, dict(row.cause))
    row.after_user, row.done, row.changed = ids[-1], row.done + len(ids), row.changed + changed
    return changed, row.done


def run(store: Store, pending_id: int, key: str, progress: role_sync.Progress | None = None) -> int:
    """Run a pending row's batches to the end; returns the assignments changed here."""
    total = affected_count(store, key)
    changed, held = 0, role_sync.Held()
    while True:
        with held:
            step = _step(store, pending_id, key)
        if step is None:
            return changed
        changed += step[0]
        if progress is not None:
            total = max(total, step[1])
            progress(step[1], total)
        role_sync.let_writers_in(store, held.seconds)


@read
def pending(store: Store) -> list[tuple[int, str, str | None]]:
    """The unfinished rows, oldest first: (id, folded group name, the group whose members
    move, or None for a name's recomputation)."""
    rows = fetch_rows(store, _PENDING, {})
    return [(int(i), str(k), None if g is None else str(g)) for i, k, g in rows]


@read
def in_progress(store: Store) -> list[LargeChange]:
    """The large changes still running (or left by a stopped process for the worker to
    finish), oldest first, each with how far its committed batches got. No locks."""
    changes = []
    for pending_id, key, group_id, cause, actor, created, done, after, plan in fetch_rows(
        store, _PROGRESS, {}
    ):
        name = str((sql_json(cause) or {}).get("group") or key)
        if group_id is not None:
            members = sql_json(plan) or {}
            kind = "deletion" if members.get("delete") else "members"
            total = len(members.get("remove", ())) + len(members.get("add", ()))
        else:
            kind = "roles"
            sql = f"SELECT COUNT(*) FROM ({_AFFECTED}) x"
            total = done + int(fetch_rows(store, sql, {"key": key, "after": after})[0][0])
        changes.append(
            LargeChange(int(pending_id), kind, name, int(done), max(int(done), total),
                        str(actor), sql_datetime(created))
        )  # fmt: skip
    return changes


def run_rows(store: Store, ids: list[int], progress: role_sync.Progress | None = None) -> int:
    """Run these pending rows in order (a group's large change queues its member moves,
    then any names to recompute); returns the role assignments changed."""
    rows = {row[0]: row for row in pending(store)}
    return sum(_run_row(store, rows[i], progress) for i in ids if i in rows)


def _run_row(
    store: Store, row: tuple[int, str, str | None], progress: role_sync.Progress | None
) -> int:
    pending_id, key, group_id = row
    if group_id is not None:
        return member_batches.run(store, pending_id, progress)
    return run(store, pending_id, key, progress)


def run_all(store: Store, progress: role_sync.Progress | None = None) -> int:
    """Finish every pending row (the worker's part after a restart); returns the changes."""
    return sum(_run_row(store, row, progress) for row in pending(store))
