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
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from store.context import Store
from store.domain import causes, limits
from store.domain.enums import AuditAction
from store.domain.roles import GrantDiff, IdpGrant, diff_grants, sql_rule
from store.queries.filtering import chunked_in, chunks, fetch_rows, in_list, sql_timestamp
from store.services.lifecycle import IDP, by_group_name, grant_pairs, mapping_table
from store.sql import connection, execute
from store.tx import read

BATCH = 200
"""Users per transaction: small enough that an IdP request waits at most one short batch
(a few milliseconds of work; under load, each batch's hold of the writer lock is what a
waiting IdP request may wait for, and where SQLite's busy handler sleeps grow)."""

_BUSY_SLEEPS_MS = ((0, 1), (1, 2), (3, 5), (8, 10), (18, 15), (33, 20), (53, 25), (78, 25),
                   (103, 25), (128, 50), (178, 50), (228, 100))  # fmt: skip
"""SQLite's busy handler (``sqliteDefaultBusyCallback``): after waiting this many ms in all,
a writer sleeps this many ms before it tries the lock again."""
_PAUSE_MARGIN_MS = 2


def sqlite_pause_seconds(held_seconds: float) -> float:
    """How long the writer lock stays free after a batch that held it ``held_seconds``, on
    SQLite. SQLite has no queue of waiting writers: each sleeps in its busy handler and
    retries, so back-to-back batches would keep winning the lock and an IdP request could
    wait for the whole change. (Writers of one process already queue on Pony's lock: one of
    them at a time sleeps in SQLite's handler.) A writer that began waiting during the batch
    has waited at most ``held_seconds``, so the sleep it is in is at most the handler's sleep
    at that total: the pause lasts that long (plus a margin), from 3 ms after a short batch to
    27 ms after a 100 ms one, never the handler's 100 ms longest sleep unless a batch held
    the lock for over 228 ms. PostgreSQL queues lock waiters, and needs no pause."""
    waited_ms = held_seconds * 1000
    sleep_ms = max(ms for total, ms in _BUSY_SLEEPS_MS if total <= waited_ms)
    return (sleep_ms + _PAUSE_MARGIN_MS) / 1000


Progress = Callable[[int, int], None]
"""Called after each batch with (users done, users in all)."""

_TABLES = ('"scim_user"', '"scim_membership"', '"scim_group"', '"sso_group_role_mapping"')
WANTED = sql_rule(*_TABLES)
WANTED_BY_ID = sql_rule(*_TABLES, by_id=True)
"""The rule for the users a batch names (``AND u."id" IN (...)`` follows)."""
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


class LockedUser(NamedTuple):
    """A user row locked by ``lock_users``."""

    id: str
    user_name: str
    connection_id: int
    live: bool  # not deleted


_LOCK_USERS = (
    'SELECT "id", "user_name", "connection_id", "deleted_at" IS NULL FROM "scim_user" '
    'WHERE {ids}{live} ORDER BY "id"{lock}'
)


def lock_users(store: Store, ids: Iterable[str], live_only: bool = False) -> list[LockedUser]:
    """The users among ``ids`` that exist (deleted ones too, unless ``live_only``), locked
    in id order, the order every use case locks users (PostgreSQL: FOR UPDATE; SQLite: the
    writer lock, which ``execute`` takes), ``filtering.chunked_in`` ids per statement."""
    lock = " FOR UPDATE" if store.provider == "postgres" else ""
    live = ' AND "deleted_at" IS NULL' if live_only else ""
    found = []
    for condition, params in chunked_in('"id"', sorted(set(ids))):
        sql = _LOCK_USERS.format(ids=condition, live=live, lock=lock)
        for user_id, user_name, connection_id, alive in execute(store.db, sql, params).rows:
            found.append(LockedUser(str(user_id), str(user_name), int(connection_id), bool(alive)))
    return found


def _grants_by_user(store: Store, sql: str, ids: Sequence[str]) -> dict[str, dict[IdpGrant, Any]]:
    """The rows of ``sql`` (whose user column is ``u."id"`` or ``"user"``, of a WHERE it
    ends with) for these users: the condition goes into that WHERE, not around a subquery,
    so both backends look the users up by id instead of reading every user's grants."""
    in_ids, params = in_list(ids, "u")
    column = 'u."id"' if sql is WANTED_BY_ID else '"user"'
    found: dict[str, dict[IdpGrant, Any]] = defaultdict(dict)
    rows = fetch_rows(store, f"{sql} AND {column} IN {in_ids}", params)
    for row in rows:
        found[str(row[0])][IdpGrant(row[1], row[2])] = row[3] if len(row) > 3 else None
    return found


_HELD_ROWS = (
    'SELECT "user", "role", "via_group", "id" FROM "control_role_assignment" '
    f"WHERE \"source\" = '{IDP}'"
)


def apply_batch(store: Store, ids: Sequence[str], actor: str, cause: causes.Cause) -> int:
    """Bring these users' IdP rows in line with memberships and the mapping, in the
    caller's transaction (which holds any name locks the caller needs). Returns how many
    rows were added or removed."""
    users = lock_users(store, ids)
    if not users:
        return 0
    user_ids = [user.id for user in users]
    mapping = mapping_table(store)
    wanted = _grants_by_user(store, WANTED_BY_ID, user_ids)
    held = _grants_by_user(store, _HELD_ROWS, user_ids)
    now = store.clock()
    table = by_group_name(mapping)
    payloads: dict[tuple[frozenset[IdpGrant], frozenset[IdpGrant]], tuple[str, str, str]] = {}
    add: list[tuple[Any, ...]] = []
    remove: list[Any] = []
    events: list[tuple[Any, ...]] = []
    for user_id, user_name, _connection_id, _live in users:
        sets = (frozenset(held[user_id]), frozenset(wanted[user_id]))
        if sets[0] == sets[1]:
            continue
        diff = diff_grants(*sets)
        remove += [held[user_id][grant] for grant in diff.remove]
        add += [
            (user_id, g.role, IDP, g.via_group, actor[: limits.ACTOR]) for g in sorted(diff.add)
        ]
        if sets not in payloads:  # users of a batch mostly change alike: rendered once
            payloads[sets] = _payload(sets[0], sets[1], diff, table, cause)
        events.append((user_id, user_name[: limits.AUDIT_TARGET_NAME], *payloads[sets]))
    _write(store, now, actor, add, remove, events)
    return len(add) + len(remove)


def _payload(
    held: frozenset[IdpGrant],
    wanted: frozenset[IdpGrant],
    diff: GrantDiff,
    table: dict[str, dict[str, int]],
    cause: causes.Cause,
) -> tuple[str, str, str]:
    """A ``roles.recomputed`` event's before, after and detail (the same for every user
    whose held and wanted grants are the same)."""
    pairs = grant_pairs
    before, after, detail = causes.recomputed(
        pairs(held), pairs(wanted), pairs(diff.add), pairs(diff.remove), table, cause
    )
    return json.dumps(before), json.dumps(after), detail[: limits.DETAIL]


_INSERT_ROWS = (
    'INSERT INTO "control_role_assignment" '
    '("user", "role", "source", "via_group", "granted_by", "created") VALUES '
)
_ROW = "({m}, {m}, {m}, {m}, {m}, {m})"
_INSERT_EVENTS = (
    'INSERT INTO "audit_event" ("at", "actor", "action", "target_type", "target_id", '
    '"target_name", "before", "after", "detail") VALUES '
)
_EVENT = (
    f"({{m}}, {{m}}, '{AuditAction.ROLES_RECOMPUTED}', 'user', {{m}}, {{m}}, {{m}}, {{m}}, {{m}})"
)


def _write(
    store: Store,
    now: datetime,
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
    logged = [(at, actor[: limits.ACTOR] or "system") + event for event in events]
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


def let_writers_in(store: Store, held_seconds: float) -> None:
    """Between two batches, the last of which held the writer lock ``held_seconds``: on
    SQLite, leave the lock free long enough for a writer that waited meanwhile."""
    if store.provider == "sqlite":
        time.sleep(sqlite_pause_seconds(held_seconds))


class Held:
    """Times one batch's transaction: ``with Held() as held: ...`` then ``held.seconds``."""

    seconds = 0.0

    def __enter__(self) -> Held:
        self._began = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._began


def in_batches(
    store: Store,
    ids: Sequence[str],
    run: Callable[[Sequence[str]], int],
    size: int = BATCH,
) -> int:
    """Run ``run`` (one transaction) over ``ids`` in batches of ``size``, letting waiting
    writers in between batches; returns the total it returned."""
    changed, held = 0, Held()
    for number, chunk in enumerate(chunks(ids, size)):
        if number:
            let_writers_in(store, held.seconds)
        with held:
            changed += run(chunk)
    return changed
