"""Large membership replacements and group deletions, in batches committed as they go
(``store.services.member_batches``), on both backends: the answer and the final state are a
single transaction's, the audit is whole, each batch is a bounded transaction that lets
another writer in, a crash between batches is finished by the worker or by the IdP's next
push, and writes of the group wait for the change to finish."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.scope import OPERATOR, of_connection
from store.errors import PreconditionFailed
from store.queries.filtering import fetch_rows
from store.queries.groups import get_group
from store.records import GroupInput, MembershipChange
from store.services import groups, member_batches, recompute_queue, role_sync
from store.services.connections import create_connection, transfer_connection
from store.services.groups import change_group, create_group, delete_group, replace_group
from store.services.maintenance import reconcile_roles
from store.services.users import delete_user
from store.sql import connection, statements_sent
from tests.store.test_users_helpers import (
    ACTOR,
    bulk_users,
    grant_manual,
    group_input,
    mapped_role,
    new_user,
    roles_of,
)

BATCH = role_sync.BATCH
DEADLINE = 60.0


def _members(store: Store, group_id: str) -> set[str]:
    return {m.id for m in get_group(store, group_id).members or ()}


def _pending(store: Store) -> int:
    with db_session:
        return int(store.db.PendingRecompute.select().count())


def _events(store: Store, action: str) -> list[tuple[str, Any, Any, str]]:
    with db_session:
        rows = store.db.AuditEvent.select(lambda e: e.action == action).order_by(lambda e: e.id)
        return [(e.target_id, e.before, e.after, e.detail) for e in rows]


def _setup(store: Store, mapped: bool) -> tuple[str, list[str], list[str]]:
    """A group of 2 batches + 37 members, and the member list a PUT gives it instead: the
    first 300 stay, the rest leave, 900 others come (1,737 moves)."""
    if mapped:
        mapped_role(store, "everyone", "operator")
    users = sorted(bulk_users(store, 2 * BATCH + 37 + 900))
    old, new = users[: 2 * BATCH + 37], users[:300] + users[2 * BATCH + 37 :]
    group = create_group(store, group_input("Everyone"), tuple(old), ACTOR)
    return group.id, old, new


def _put(store: Store, group_id: str, members: list[str], **kw: Any) -> Any:
    data = GroupInput(display_name="Everyone", document={})
    return replace_group(store, group_id, data, tuple(members), "idp:test", **kw)


@pytest.mark.parametrize("mapped", [False, True])
def test_a_large_put_answers_and_ends_like_one_transaction(store: Store, mapped: bool) -> None:
    group_id, old, new = _setup(store, mapped)
    version = get_group(store, group_id, include_members=False).version
    earlier = len(_events(store, "roles.recomputed"))
    record = _put(store, group_id, new)
    assert {m.id for m in record.members or ()} == set(new) == _members(store, group_id)
    assert record.version == version + 1 and record.member_count == len(new)
    assert _pending(store) == 0
    gone, came = set(old) - set(new), set(new) - set(old)
    updated = [e for e in _events(store, "group.updated") if e[0] == group_id]
    assert len(updated) == 1
    assert updated[0][1]["members"] == sorted(gone)  # as one transaction lists them
    assert updated[0][2]["members"] == [u for u in new if u in came]
    assert updated[0][3] == f"+{len(came)} -{len(gone)} member(s)"
    recomputed = sorted(e[0] for e in _events(store, "roles.recomputed")[earlier:])
    if mapped:  # one event per user whose roles changed
        assert all(roles_of(store, u) == {("operator", "idp")} for u in new)
        assert all(roles_of(store, u) == set() for u in gone)
        assert recomputed == sorted(gone | came)
    else:
        assert recomputed == []


def _decide_and_stop_after_one_batch(store: Store, group_id: str, members: list[str]) -> int:
    """The PUT's deciding transaction and its first batch, then the process stops."""
    data = GroupInput(display_name="Everyone", document={})
    _record, queued = groups._replace_group(
        store, group_id, data, tuple(members), "idp:t", None, OPERATOR
    )
    assert len(queued) == 1
    plan = member_batches._plan(store, queued[0])
    assert plan is not None
    step = member_batches._step(store, queued[0], plan)
    assert step is not None and step[1] == BATCH
    return queued[0]


@pytest.mark.parametrize("finisher", ["worker", "next push"])
def test_a_change_stopped_between_batches_is_finished(store: Store, finisher: str) -> None:
    group_id, old, new = _setup(store, mapped=True)
    version = get_group(store, group_id, include_members=False).version
    _decide_and_stop_after_one_batch(store, group_id, new)
    middle = get_group(store, group_id)
    assert middle.version == version  # moves once, at the end
    assert _members(store, group_id) not in (set(old), set(new)) and _pending(store) == 1
    if finisher == "worker":
        reconcile_roles(store)
        final = get_group(store, group_id, include_members=False).version
    else:
        final = _put(store, group_id, new).version  # the same PUT again: nothing left to move
    assert _members(store, group_id) == set(new) and _pending(store) == 0
    assert final == version + 1
    assert all(roles_of(store, u) == {("operator", "idp")} for u in new)
    assert all(roles_of(store, u) == set() for u in set(old) - set(new))
    assert reconcile_roles(store) == 0


def test_a_write_of_the_group_waits_for_the_change_then_sees_its_end(store: Store) -> None:
    group_id, old, new = _setup(store, mapped=False)
    version = get_group(store, group_id, include_members=False).version
    _decide_and_stop_after_one_batch(store, group_id, new)
    late = old[-1]  # leaves with the PUT, in a batch not run yet
    add = MembershipChange("add", (late,))
    with pytest.raises(PreconditionFailed):  # the version it read is gone once the PUT ends
        change_group(store, group_id, lambda g: [add], "idp:t", if_match=version)
    assert _members(store, group_id) == set(new) and _pending(store) == 0
    change_group(store, group_id, lambda g: [add], "idp:t", if_match=version + 1)
    assert _members(store, group_id) == set(new) | {late}  # after the PUT, not lost in it


def test_an_unknown_member_refuses_a_large_put_whole(store: Store) -> None:
    group_id, old, new = _setup(store, mapped=False)
    version = get_group(store, group_id, include_members=False).version
    with pytest.raises(Exception, match="not a known user"):
        _put(store, group_id, [*new, "f" * 32])
    assert _members(store, group_id) == set(old) and _pending(store) == 0
    assert get_group(store, group_id, include_members=False).version == version


MANY = 20_000


def _clone_users(store: Store, count: int) -> list[str]:
    """``count`` live users copied from one made by the store (setup only: fast)."""
    template = bulk_users(store, 1, prefix="template")[0]
    with db_session:
        cursor = connection(store.db).cursor()
        mark = "%s" if store.provider == "postgres" else "?"
        cursor.execute(f"SELECT * FROM scim_user WHERE id = {mark}", (template,))
        columns = [d[0] for d in cursor.description]
        row = list(cursor.fetchone())
        ids, rows = [], []
        for n in range(count):
            user_id = f"{n:08d}" + template[8:]
            name = f"many{n:06d}@example.com"
            values = dict(zip(columns, row, strict=True))
            values.update(id=user_id, user_name=name, user_name_key=name)
            if "document" in values and store.provider == "postgres":
                from psycopg2.extras import Json

                values["document"] = Json({"userName": name})
            ids.append(user_id)
            rows.append(tuple(values[c] for c in columns))
        names = ", ".join(f'"{c}"' for c in columns)
        _insert_rows(store, cursor, f"INSERT INTO scim_user ({names})", len(columns), rows)
    return ids


def _insert_rows(store: Store, cursor: Any, insert: str, width: int, rows: list[Any]) -> None:
    """``insert`` (``INSERT INTO t (columns)``) of every row: one statement per thousand rows
    on PostgreSQL (a round trip per row was most of these tests' time), executemany on
    SQLite (in-process, no round trip)."""
    if store.provider == "postgres":
        from psycopg2.extras import execute_values

        execute_values(cursor, f"{insert} VALUES %s", rows, page_size=1000)
    else:
        cursor.executemany(f"{insert} VALUES ({', '.join(['?'] * width)})", rows)


def _fill(store: Store, group_id: str, user_ids: list[str]) -> None:
    with db_session:
        cursor = connection(store.db).cursor()
        now = store.clock()
        rows = [(group_id, user_id, now) for user_id in user_ids]
        _insert_rows(
            store, cursor, 'INSERT INTO scim_membership ("group", "user", created)', 3, rows
        )
        store.db.Group[group_id].member_count = len(user_ids)


def test_deleting_a_group_of_20000_goes_in_bounded_batches_that_let_a_writer_in(
    store: Store,
) -> None:
    users = _clone_users(store, MANY)
    group = create_group(store, group_input("Many"), (), ACTOR)
    _fill(store, group.id, users)
    seen: list[tuple[int, int, int]] = []
    wrote: list[str] = []
    last = [statements_sent(store.db)]

    def write_meanwhile() -> None:  # another request's write, in its own thread
        wrote.append(new_user(store, "meanwhile@example.com"))

    def progress(done: int, total: int) -> None:
        now = statements_sent(store.db)
        seen.append((done, total, now - last[0]))
        if len(seen) == 1:  # between the first two batches: the lock is free
            writer = threading.Thread(target=write_meanwhile)
            writer.start()
            writer.join(DEADLINE)
            assert wrote, "a write did not complete between two batches"
            assert get_group(store, group.id, include_members=False).member_count == MANY - BATCH
        last[0] = statements_sent(store.db)

    delete_group(store, group.id, ACTOR, progress=progress)
    assert [s[0] for s in seen] == list(range(BATCH, MANY + 1, BATCH))
    assert {s[1] for s in seen} == {MANY}
    assert max(s[2] for s in seen) <= 30  # a few statements per batch, never one per member
    with db_session:
        assert store.db.Group.get(id=group.id) is None
        assert store.db.Membership.select().count() == 0
    deleted = [e for e in _events(store, "group.deleted") if e[0] == group.id]
    assert len(deleted) == 1 and deleted[0][1]["members"] == {"count": MANY}
    assert _pending(store) == 0 and wrote


@pytest.mark.parametrize("stopped", [False, True])
def test_a_rename_with_a_large_replacement_moves_every_role_to_the_new_name(
    store: Store, stopped: bool
) -> None:
    """A PUT that renames a mapped group and replaces its members in batches: the roles end
    as the new name and the new member list give them (stayers switch roles, leavers lose
    theirs, newcomers gain), manual roles stay, each changed user gets one event naming its
    cause, and nothing is left for reconcile, also when the run stops after one batch and
    the worker finishes it."""
    group_id, old, new = _setup(store, mapped=True)
    mapped_role(store, "staff", "viewer")
    stayer, leaver = new[0], old[-1]
    with db_session:
        names = [store.db.User[u].user_name for u in (stayer, leaver)]
    for name in names:
        grant_manual(store, name, "admin")
    earlier = len(_events(store, "roles.recomputed"))
    data = GroupInput(display_name="Staff", document={})
    if stopped:
        _record, queued = groups._replace_group(
            store, group_id, data, tuple(new), "idp:t", None, OPERATOR
        )
        plan = member_batches._plan(store, queued[0])
        assert plan is not None and member_batches._step(store, queued[0], plan) is not None
        reconcile_roles(store, actor="worker")
    else:
        replace_group(store, group_id, data, tuple(new), "idp:test")
    assert _members(store, group_id) == set(new) and _pending(store) == 0
    assert get_group(store, group_id, include_members=False).display_name == "Staff"
    stayed, gone, came = set(old) & set(new), set(old) - set(new), set(new) - set(old)
    manual = {("admin", "manual")}
    for user_id in new:
        extra = manual if user_id == stayer else set()
        assert roles_of(store, user_id) == {("viewer", "idp")} | extra, user_id
    for user_id in gone:
        assert roles_of(store, user_id) == (manual if user_id == leaver else set()), user_id
    events = _events(store, "roles.recomputed")[earlier:]
    assert sorted(e[0] for e in events) == sorted(stayed | gone | came)  # one each
    by_user = {e[0]: e[2]["cause"] for e in events}
    assert {by_user[u]["cause"] for u in stayed} == {"group.renamed"}
    assert {by_user[u]["cause"] for u in gone | came} == {"group"}
    assert {by_user[u]["previous"] for u in stayed} == {"Everyone"}
    assert reconcile_roles(store) == 0


def test_a_stopped_change_shows_its_progress_until_finished(store: Store) -> None:
    """What ``worker status`` and the mapping panel list: each large change with how far its
    committed batches got, gone once finished."""
    group_id, old, new = _setup(store, mapped=True)
    mapped_role(store, "staff", "viewer")
    assert recompute_queue.in_progress(store) == []
    data = GroupInput(display_name="Staff", document={})
    _record, queued = groups._replace_group(store, group_id, data, tuple(new), "idp:t", None,
                                            OPERATOR)  # fmt: skip
    plan = member_batches._plan(store, queued[0])
    assert plan is not None and member_batches._step(store, queued[0], plan) is not None
    changes = recompute_queue.in_progress(store)
    moves = sorted(set(old) - set(new)) + sorted(set(new) - set(old))
    first = moves[:BATCH]  # the removals first, then the additions
    holders = len(set(old) - set(first))  # of an IdP role through the old name, still
    members = len((set(old) - set(first)) | (set(first) & set(new)))  # of the group now
    assert [(c.kind, c.group, c.done, c.total, c.actor) for c in changes] == [
        ("members", "Staff", BATCH, len(moves), "idp:t"),
        ("roles", "Staff", 0, holders, "idp:t"),  # the old name's holders (the rename's cause)
        ("roles", "Staff", 0, members, "idp:t"),  # the new name's members
    ]
    assert [c.kind for c in changes] == ["members", "roles", "roles"]
    assert all(c.started.tzinfo is not None for c in changes)
    reconcile_roles(store)
    assert recompute_queue.in_progress(store) == []


def _dangling(store: Store) -> int:
    """Memberships whose user is deleted."""
    with db_session:
        sql = (
            'SELECT count(*) FROM "scim_membership" m JOIN "scim_user" u ON u."id" = m."user" '
            'WHERE u."deleted_at" IS NOT NULL'
        )
        return int(fetch_rows(store, sql, {})[0][0])


def _count_is_true(store: Store, group_id: str) -> bool:
    with db_session:
        group = store.db.Group[group_id]
        return int(group.member_count) == group.memberships.count()


def _put_with(store: Store, group_id: str, members: list[str], between: Any, scope: Any) -> Any:
    """A PUT as ``replace_group`` runs it (the deciding transaction, then the batches),
    with ``between`` run once, after the first batch has committed and before the next."""
    data = GroupInput(display_name="Everyone", document={})
    ran: list[int] = []

    def progress(done: int, total: int) -> None:
        if not ran:
            ran.append(done)
            between()

    _record, queued = groups._replace_group(
        store, group_id, data, tuple(members), "idp:test", None, scope
    )
    assert len(queued) == 1
    recompute_queue.run_rows(store, queued, progress)
    assert ran == [BATCH]
    return get_group(store, group_id, scope=scope)


def test_a_user_deleted_while_a_large_put_moves_members_is_never_a_member(store: Store) -> None:
    group_id, old, new = _setup(store, mapped=True)
    came, gone = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    # The batches take the leavers, then the newcomers, in id order: both are in later batches.
    victim, leaver = came[-1], gone[-1]

    def delete_two() -> None:
        delete_user(store, victim, "idp:test")
        delete_user(store, leaver, "idp:test")

    record = _put_with(store, group_id, new, delete_two, OPERATOR)
    assert {m.id for m in record.members or ()} == set(new) - {victim}
    assert _members(store, group_id) == set(new) - {victim}
    assert _dangling(store) == 0 and _count_is_true(store, group_id) and _pending(store) == 0
    assert roles_of(store, victim) == set() and roles_of(store, leaver) == set()
    assert all(roles_of(store, u) == {("operator", "idp")} for u in set(new) - {victim})
    assert reconcile_roles(store) == 0  # nothing left for the worker to repair


def test_users_moved_to_another_connection_while_a_large_put_moves_members_are_not_added(
    store: Store,
) -> None:
    group_id, old, new = _setup(store, mapped=True)
    with db_session:
        owner = store.db.Group[group_id].connection
        scope, source = of_connection(int(owner.id)), str(owner.name)
    create_connection(store, "Entra", "entra", "operator")
    at_transfer: set[str] = set()

    def transfer() -> None:  # every user of the group's connection goes to Entra; not the group
        at_transfer.update(_members(store, group_id))
        transfer_connection(store, source, "Entra", users_only=True, actor="operator")

    _put_with(store, group_id, new, transfer, scope)
    members = _members(store, group_id)
    # What was a member when the users moved stays one (a users-only transfer keeps
    # memberships) unless the PUT removes it; no user of another connection is added.
    assert members == at_transfer & set(new)
    assert _count_is_true(store, group_id) and _pending(store) == 0
    assert all(roles_of(store, u) == {("operator", "idp")} for u in members)
    assert all(roles_of(store, u) == set() for u in set(old) | set(new) if u not in members)
    assert reconcile_roles(store) == 0
