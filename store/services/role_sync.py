"""IdP role recomputation for many users at once, in short transactions.

What a user should hold is ``domain.roles.idp_grants``; its SQL form (``roles.sql_rule``,
tested against it on both backends) lets the store find every user whose IdP rows differ in
one statement, and compute a batch's wanted grants in one more. Each batch then locks its
users in id order (the order every use case locks users), diffs with the pure
``diff_grants``, and writes the rows to add and remove and one ``roles.recomputed`` event per
changed user (``causes.recomputed``, the payload ``lifecycle.recompute_user_roles`` writes)
with a few statements. A batch is one transaction of at most ``BATCH`` users, so a change
that affects 100,000 users never holds the writer lock (SQLite) or many row locks
(PostgreSQL) for more than a moment, and IdP requests are served between batches.

Manual and suspended rows are never read or written here: only ``source = 'idp'`` rows.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from store.context import Store
from store.domain import causes
from store.domain.roles import IdpGrant, diff_grants, sql_rule
from store.queries.filtering import fetch_rows, in_list, sql_timestamp
from store.services.lifecycle import IDP, MappingTable, by_group_name, grant_pairs, mapping_table
from store.sql import connection, execute
from store.tx import read

BATCH = 500
"""Users per transaction: small enough that an IdP request waits at most one batch."""

SQLITE_PAUSE_SECONDS = 0.1
"""After each batch on SQLite, the writer lock stays free this long. SQLite has no queue of
waiting writers: each sleeps in its busy handler (for up to 100 ms at a time) and retries, so
back-to-back batches would keep winning the lock and an IdP request could wait for the whole
change. PostgreSQL queues row-lock waiters, and needs no pause."""

Progress = Callable[[int, int], None]
"""Called after each batch with (users done, users in all)."""

WANTED = sql_rule('"scim_user"', '"scim_membership"', '"scim_group"', '"sso_group_role_mapping"')
_HELD = 'SELECT "user", "role", "via_group" FROM "control_role_assignment" WHERE "source" = \'idp\''
_DRIFTED = (
    f'SELECT "user" FROM (SELECT * FROM ({WANTED}) w EXCEPT {_HELD}) a '
    f'UNION SELECT "user" FROM (SELECT * FROM ({_HELD}) h EXCEPT {WANTED}) r ORDER BY 1'
)


@read
def drifted_users(store: Store) -> list[str]:
    """Every user whose IdP rows differ from what memberships and the mapping give (a
    deleted or inactive user holding any, a live one missing or holding an extra one), in
    id order. One statement, no locks."""
    return [str(row[0]) for row in fetch_rows(store, _DRIFTED, {})]


def _lock_users(store: Store, ids: Sequence[str]) -> list[tuple[str, str]]:
    """The batch's users that still exist, locked in id order: (id, userName)."""
    in_ids, params = in_list(ids, "u")
    sql = f'SELECT "id", "user_name" FROM "scim_user" WHERE "id" IN {in_ids} ORDER BY "id"'
    if store.provider == "postgres":
        sql += " FOR UPDATE"
    else:
        execute(store.db, "SELECT 1")  # SQLite: take the writer lock before reading
    return [(str(i), str(n)) for i, n in fetch_rows(store, sql, params)]


def _grants_by_user(
    store: Store, sql: str, ids: Sequence[str], column: str
) -> dict[str, dict[IdpGrant, Any]]:
    in_ids, params = in_list(ids, "u")
    found: dict[str, dict[IdpGrant, Any]] = defaultdict(dict)
    rows = fetch_rows(store, f"SELECT * FROM ({sql}) s WHERE s.{column} IN {in_ids}", params)
    for row in rows:
        found[str(row[0])][IdpGrant(row[1], row[2])] = row[3] if len(row) > 3 else None
    return found


_HELD_ROWS = (
    'SELECT "user", "role", "via_group", "id" FROM "control_role_assignment" '
    "WHERE \"source\" = 'idp'"
)


def apply_batch(store: Store, ids: Sequence[str], actor: str, cause: causes.Cause) -> int:
    """Bring these users' IdP rows in line with memberships and the mapping, in the
    caller's transaction (which holds any name locks the caller needs). Returns how many
    rows were added or removed."""
    users = _lock_users(store, sorted(set(ids)))
    if not users:
        return 0
    user_ids = [user_id for user_id, _ in users]
    mapping = mapping_table(store)
    wanted = _grants_by_user(store, WANTED, user_ids, '"user"')
    held = _grants_by_user(store, _HELD_ROWS, user_ids, '"user"')
    now = store.clock()
    add: list[tuple[Any, ...]] = []
    remove: list[Any] = []
    events: list[tuple[Any, ...]] = []
    for user_id, user_name in users:
        diff = diff_grants(held[user_id].keys(), wanted[user_id].keys())
        if not diff.changed:
            continue
        remove += [held[user_id][grant] for grant in diff.remove]
        add += [(user_id, g.role, IDP, g.via_group, actor[:256]) for g in sorted(diff.add)]
        event = _event(user_id, user_name, held[user_id], wanted[user_id], diff, mapping, cause)
        events.append(event)
    _write(store, now, actor, add, remove, events)
    return len(add) + len(remove)


def _event(
    user_id: str,
    user_name: str,
    held: dict[IdpGrant, Any],
    wanted: dict[IdpGrant, Any],
    diff: Any,
    mapping: MappingTable,
    cause: causes.Cause,
) -> tuple[Any, ...]:
    pairs = grant_pairs
    before, after, detail = causes.recomputed(
        pairs(held),
        pairs(wanted),
        pairs(diff.add),
        pairs(diff.remove),
        by_group_name(mapping),
        cause,
    )
    return (user_id, user_name[:1024], json.dumps(before), json.dumps(after), detail[:2048])


_INSERT_ROWS = (
    'INSERT INTO "control_role_assignment" '
    '("user", "role", "source", "via_group", "granted_by", "created") VALUES '
)
_ROW = "({m}, {m}, {m}, {m}, {m}, {m})"
_INSERT_EVENTS = (
    'INSERT INTO "audit_event" ("at", "actor", "action", "target_type", "target_id", '
    '"target_name", "before", "after", "detail") VALUES '
)
_EVENT = "({m}, {m}, 'roles.recomputed', 'user', {m}, {m}, {m}, {m}, {m})"


def _write(
    store: Store,
    now: Any,
    actor: str,
    add: list[tuple[Any, ...]],
    remove: list[Any],
    events: list[tuple[Any, ...]],
) -> None:
    """A batch's rows in a few statements: psycopg2's ``executemany`` sends one statement
    per row, so PostgreSQL gets multi-row VALUES (``execute_values``) instead."""
    at = sql_timestamp(store, now)
    cursor = connection(store.db).cursor()
    added = [row + (at,) for row in add]
    logged = [(at, actor[:256] or "system") + event for event in events]
    if store.provider == "postgres":
        from psycopg2.extras import execute_values

        if remove:
            cursor.execute(
                'DELETE FROM "control_role_assignment" WHERE "id" = ANY(%s)', (list(remove),)
            )
        if added:
            execute_values(cursor, _INSERT_ROWS + "%s", added, page_size=1000)
        if logged:
            template = _EVENT.format(m="%s")
            execute_values(cursor, _INSERT_EVENTS + "%s", logged, template, page_size=1000)
        return
    if remove:
        cursor.executemany(
            'DELETE FROM "control_role_assignment" WHERE "id" = ?', [(i,) for i in remove]
        )
    if added:
        cursor.executemany(_INSERT_ROWS + _ROW.format(m="?"), added)
    if logged:
        cursor.executemany(_INSERT_EVENTS + _EVENT.format(m="?"), logged)


def let_writers_in(store: Store) -> None:
    """Between two batches: on SQLite, leave the writer lock free for waiting requests."""
    if store.provider == "sqlite":
        time.sleep(SQLITE_PAUSE_SECONDS)


def in_batches(
    store: Store,
    ids: Sequence[str],
    run: Callable[[Sequence[str]], int],
    size: int = BATCH,
) -> int:
    """Run ``run`` (one transaction) over ``ids`` in batches of ``size``, letting waiting
    writers in between batches; returns the total it returned."""
    size, changed = max(1, size), 0
    for start in range(0, len(ids), size):
        if start:
            let_writers_in(store)
        changed += run(ids[start : start + size])
    return changed
