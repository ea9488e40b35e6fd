"""Concurrent group PATCHes (Entra sends several at once) lose nothing, and a deactivation
racing membership changes never leaves an IdP role on an inactive user."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from pony.orm import db_session

from store.context import Store
from store.queries.groups import get_group
from store.records import MembershipChange
from store.services import lifecycle
from store.services.groups import change_group, create_group
from store.services.roles import remove_mapping, set_mapping
from tests.store.identity_factories import role_drift
from tests.store.test_users_helpers import ACTOR, bulk_users, group_input, mapped_role

THREADS = 8


def _run_threads(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def _add_one(store: Store, group_id: str, user_id: str) -> None:
    change = MembershipChange("add", (user_id,))
    change_group(store, group_id, lambda current: [change], ACTOR)


def test_eight_threads_adding_a_thousand_members_lose_none(store: Store) -> None:
    mapped_role(store, "Engineering", "operator")
    users = bulk_users(store, 1000)
    group = create_group(store, group_input("Engineering"), (), ACTOR)
    shares = [users[i::THREADS] for i in range(THREADS)]

    def adder(share: list[str]) -> Callable[[], None]:
        return lambda: [_add_one(store, group.id, user_id) for user_id in share] and None

    errors = _run_threads([adder(share) for share in shares])
    assert errors == []
    after = get_group(store, group.id)
    assert after.member_count == 1000 and after.version == 1001
    assert {m.id for m in after.members or ()} == set(users)
    with db_session:
        granted = store.db.RoleAssignment.select(lambda a: a.source == "idp").count()
    assert granted == 1000


def test_deactivation_racing_membership_changes_leaves_no_idp_role(store: Store) -> None:
    mapped_role(store, "Engineering", "operator")
    mapped_role(store, "Ops", "viewer")
    users = bulk_users(store, 40)
    eng = create_group(store, group_input("Engineering"), (), ACTOR)
    ops = create_group(store, group_input("Ops"), tuple(users[::2]), ACTOR)
    doomed = users[::3]

    def churn(group_id: str, share: list[str]) -> Callable[[], None]:
        def work() -> None:
            for user_id in share:
                _add_one(store, group_id, user_id)
                remove = MembershipChange("remove", (user_id,))
                add = MembershipChange("add", (user_id,))
                change_group(store, group_id, lambda current, r=remove, a=add: [r, a], ACTOR)

        return work

    def deactivate() -> None:
        for _ in range(3):  # flip back and forth so the flag changes mid-churn
            for user_id in doomed:
                lifecycle.deactivate_user(store, user_id, "operator", "offboarded")
            for user_id in doomed:
                lifecycle.reactivate_user(store, user_id, "operator", "back")
        for user_id in doomed:
            lifecycle.deactivate_user(store, user_id, "operator", "offboarded")

    workers = [churn(eng.id, users[i::3]) for i in range(3)]
    workers += [churn(ops.id, users[1::2]), deactivate]
    assert _run_threads(workers) == []
    with db_session:
        for user in store.db.User.select():
            idp = {a.role.name for a in user.role_assignments if a.source == "idp"}
            groups = {m.group.display_name for m in user.memberships}
            if user.id in doomed:
                assert not user.active and idp == set(), user.user_name
            else:
                expected = {"operator"} if "Engineering" in groups else set()
                expected |= {"viewer"} if "Ops" in groups else set()
                assert idp == expected, user.user_name
            assert "Engineering" in groups


def _rename_group(store: Store, group_id: str, name: str) -> None:
    change_group(store, group_id, lambda _g: [MembershipChange("rename", value=name)], ACTOR)


def test_mapping_edits_racing_group_renames_and_creates_leave_no_drift(store: Store) -> None:
    """The in-process twin of the two-process race test: on SQLite the single writer lock
    (taken before the mapping is read) serialises them, on PostgreSQL the group name lock."""
    users = tuple(bulk_users(store, 4))
    mapped_role(store, "Unrelated", "operator")
    for round_no in range(12):
        name = f"Race {round_no}"
        if round_no % 2:
            set_mapping(store, name, "operator", ACTOR)
        edit = remove_mapping if round_no % 2 else set_mapping
        if round_no % 4 < 2:
            staging = create_group(store, group_input(f"Staging {round_no}"), users, ACTOR)
            change = partial(_rename_group, store, staging.id, name)
        else:
            change = partial(create_group, store, group_input(name), users, ACTOR)
        errors = _run_threads([change, partial(edit, store, name, "operator", ACTOR)])
        assert errors == []
        assert role_drift(store) == {}, round_no
