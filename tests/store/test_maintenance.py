"""The worker's repairs, called directly on a real store: each repairs its drift and a
second run changes nothing."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from pony.orm import db_session

from store.context import Store
from store.services.maintenance import (
    flag_stale_tokens,
    mapping_fingerprint,
    reconcile_roles,
    update_last_used,
)
from store.services.tokens import revoke_token
from tests.store.identity_factories import (
    add_member,
    make_group,
    make_user,
    remove_member,
    roles_of,
    soft_delete_user,
)
from tests.support import FakeClock
from tests.worker.factories import (
    add_idp_row,
    drop_idp_rows,
    grant_manual,
    log_request,
    make_mapping,
    make_token,
    remove_mapping,
    set_active_raw,
    token_row,
)


def _audit_actions(store: Store, actor: str) -> list[str]:
    with db_session:
        return [e.action for e in store.db.AuditEvent.select(lambda e: e.actor == actor)]


# ---- roles ----------------------------------------------------------------------------------


def test_reconcile_grants_roles_of_a_mapping_added_behind_its_back(store: Store) -> None:
    alice, bob = make_user(store, "alice@corp"), make_user(store, "bob@corp")
    make_group(store, "Ops Team", members=(alice, bob))
    make_mapping(store, "ops team", "operator")  # written without recomputation
    assert roles_of(store, alice) == set()
    assert reconcile_roles(store) == 2
    assert roles_of(store, alice) == roles_of(store, bob) == {("operator", "idp")}
    assert _audit_actions(store, "worker").count("roles.recomputed") == 2
    assert reconcile_roles(store) == 0


def test_reconcile_removes_the_roles_of_a_removed_mapping_keeping_manual(store: Store) -> None:
    alice = make_user(store, "alice@corp")
    make_mapping(store, "Admins", "admin")
    make_group(store, "Admins", members=(alice,))
    grant_manual(store, alice, "admin")
    assert roles_of(store, alice) == {("admin", "idp"), ("admin", "manual")}
    remove_mapping(store, "Admins", "admin")
    assert reconcile_roles(store) == 1
    assert roles_of(store, alice) == {("admin", "manual")}
    assert reconcile_roles(store) == 0


def test_reconcile_restores_a_missing_idp_row(store: Store) -> None:
    make_mapping(store, "Viewers", "viewer")
    alice = make_user(store, "alice@corp")
    make_group(store, "Viewers", members=(alice,))
    drop_idp_rows(store, alice)  # a crash between steps, or a manual fix gone wrong
    assert reconcile_roles(store) == 1
    assert roles_of(store, alice) == {("viewer", "idp")}
    assert reconcile_roles(store) == 0


def test_reconcile_strips_idp_roles_from_inactive_and_deleted_users(store: Store) -> None:
    make_mapping(store, "Ops", "operator")
    idle, gone, ok = (make_user(store, n) for n in ("idle@corp", "gone@corp", "ok@corp"))
    make_group(store, "Ops", members=(idle, gone, ok))
    set_active_raw(store, idle, False)  # flag flipped without the lifecycle
    grant_manual(store, idle, "viewer")
    soft_delete_user(store, gone)
    add_idp_row(store, gone, "operator", "Ops")  # left behind on a deleted user
    assert reconcile_roles(store) == 2
    assert roles_of(store, idle) == {("viewer", "manual")}
    assert roles_of(store, gone) == set()
    assert roles_of(store, ok) == {("operator", "idp")}
    assert reconcile_roles(store) == 0


def test_reconcile_walks_every_user_in_batches(store: Store) -> None:
    users = [make_user(store, f"user{i:02d}@corp") for i in range(11)]
    make_group(store, "Everyone", members=tuple(users))
    make_mapping(store, "everyone", "viewer")
    make_mapping(store, "EVERYONE", "operator")
    assert reconcile_roles(store, batch_size=3) == 22
    assert all(roles_of(store, u) == {("viewer", "idp"), ("operator", "idp")} for u in users)
    assert reconcile_roles(store, batch_size=3) == 0


def test_mapping_fingerprint_follows_the_mapping_content(store: Store) -> None:
    empty = mapping_fingerprint(store)
    assert mapping_fingerprint(store) == empty
    make_mapping(store, "Ops", "operator")
    one = mapping_fingerprint(store)
    assert one != empty
    make_mapping(store, "Ops", "viewer")
    assert mapping_fingerprint(store) not in (empty, one)
    remove_mapping(store, "Ops", "viewer")
    assert mapping_fingerprint(store) == one


# ---- Last Used and stale provisioning -------------------------------------------------------


def test_last_used_moves_to_the_newest_request_of_each_token(
    store: Store, clock: FakeClock
) -> None:
    okta, entra = make_token(store, "Okta SCIM"), make_token(store, "Entra SCIM")
    t0 = clock.now
    log_request(store, t0 + timedelta(seconds=5), token_id=okta)
    log_request(store, t0 + timedelta(seconds=9), token_id=okta, status=429)
    log_request(store, t0 + timedelta(seconds=7), token_id=None, status=401)
    assert update_last_used(store) == 1
    assert token_row(store, okta)[0] == t0 + timedelta(seconds=9)
    assert token_row(store, entra)[0] is None
    assert update_last_used(store) == 0
    log_request(store, t0 + timedelta(seconds=20), token_id=entra)
    assert update_last_used(store) == 1
    assert token_row(store, entra)[0] == t0 + timedelta(seconds=20)


def test_last_used_never_moves_backwards(store: Store, clock: FakeClock) -> None:
    okta = make_token(store, "Okta SCIM")
    log_request(store, clock.now, token_id=okta)
    update_last_used(store)
    with db_session:
        store.db.ScimToken[okta].last_used = clock.now + timedelta(minutes=1)
    log_request(store, clock.now + timedelta(seconds=30), token_id=okta)
    assert update_last_used(store) == 0
    assert token_row(store, okta)[0] == clock.now + timedelta(minutes=1)


def test_a_quiet_token_is_flagged_stale_and_cleared_when_used(
    store: Store, clock: FakeClock
) -> None:
    created = clock.now
    okta = make_token(store, "Okta SCIM")
    busy = make_token(store, "Busy SCIM")
    clock.advance(hours=23)
    log_request(store, clock.now, token_id=busy)
    update_last_used(store)
    assert flag_stale_tokens(store) == 0
    clock.advance(hours=2)  # okta: 25 h since created and never used
    assert flag_stale_tokens(store) == 1
    assert token_row(store, okta)[1] == created + timedelta(hours=24)
    assert token_row(store, busy)[1] is None
    assert flag_stale_tokens(store) == 0
    assert "token.stale" in _audit_actions(store, "worker")
    log_request(store, clock.now, token_id=okta)  # the IdP pushes again
    assert update_last_used(store) == 1
    assert token_row(store, okta) == (clock.now, None)
    assert "token.fresh" in _audit_actions(store, "worker")
    clock.advance(hours=30)
    assert flag_stale_tokens(store) == 2  # both quiet now
    assert flag_stale_tokens(store) == 0


def test_revoked_tokens_are_not_flagged_and_zero_hours_turns_it_off(
    store: Store, clock: FakeClock
) -> None:
    make_token(store, "Old SCIM")
    revoke_token(store, "Old SCIM", "operator:test")
    quiet = make_token(store, "Quiet SCIM")
    clock.advance(hours=48)
    off = replace(
        store,
        settings=replace(
            store.settings, worker=replace(store.settings.worker, stale_after_hours=0.0)
        ),
    )
    assert flag_stale_tokens(off) == 0
    assert flag_stale_tokens(store) == 1
    assert token_row(store, quiet)[1] is not None
    assert flag_stale_tokens(off) == 1  # turning the check off clears the flag
    assert token_row(store, quiet)[1] is None


def test_reconcile_racing_membership_changes_leaves_no_drift(store: Store) -> None:
    """Reconciliation runs over and over while the IdP adds and removes members: no change
    is lost or undone, and a final run finds nothing to repair."""
    make_mapping(store, "Ops", "operator")
    users = [make_user(store, f"user{i:02d}@corp") for i in range(24)]
    group = make_group(store, "Ops")
    stop = threading.Event()
    errors: list[BaseException] = []

    def reconcile_loop() -> None:
        try:
            while not stop.is_set():
                reconcile_roles(store, batch_size=5)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    looper = threading.Thread(target=reconcile_loop)
    looper.start()
    try:
        for round_no in range(3):
            for i, user in enumerate(users):
                if (i + round_no) % 2 == 0:
                    add_member(store, group, user)
                else:
                    remove_member(store, group, user)
    finally:
        stop.set()
        looper.join(timeout=60)
    assert not errors, errors
    assert reconcile_roles(store) == 0
    for i, user in enumerate(users):
        member = (i + 2) % 2 == 0
        assert roles_of(store, user) == ({("operator", "idp")} if member else set()), i
