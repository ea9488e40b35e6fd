"""A mapping edit that affects more users than one batch: the edit commits first, the
members' roles follow in batches committed as they go, an IdP PATCH is served between two
batches, progress is reported, an interrupted recomputation is finished by the worker's
reconcile with the edit's cause, and the audit has one event per changed user plus one
for the edit. Sizes are just above two batches, so the run stays short on both backends."""

from __future__ import annotations

import threading
from typing import Any

from pony.orm import db_session

from store.context import Store
from store.services import recompute_queue, role_sync
from store.services.maintenance import reconcile_roles
from store.services.roles import _save_mapping, ensure_default_roles, set_mapping
from tests.api.conftest import Scim, patch_op
from tests.store.identity_factories import make_group, make_user, roles_of

OPERATOR = "operator:large-save"
MEMBERS = 2 * role_sync.BATCH + 37
DEADLINE = 60.0


def _big_group(store: Store, name: str = "Everyone") -> list[str]:
    ensure_default_roles(store)
    with db_session:  # one transaction for the lot
        users = [make_user(store, f"member{i:05d}@corp") for i in range(MEMBERS)]
    make_group(store, name, members=tuple(users))
    return sorted(users)


def _events(store: Store) -> list[tuple[str, str, Any]]:
    with db_session:
        rows = store.db.AuditEvent.select(lambda e: e.actor == OPERATOR)
        return [(e.action, e.target_id, e.after) for e in rows]


def _pending(store: Store) -> int:
    with db_session:
        return store.db.PendingRecompute.select().count()


def test_a_large_save_runs_in_batches_with_progress_and_one_event_per_user(
    api_store: Store,
) -> None:
    users = _big_group(api_store)
    seen: list[tuple[int, int]] = []
    set_mapping(api_store, "everyone", "operator", OPERATOR, progress=lambda *p: seen.append(p))
    batch = role_sync.BATCH
    assert seen == [(batch, MEMBERS), (2 * batch, MEMBERS), (MEMBERS, MEMBERS)]
    assert all(roles_of(api_store, u) == {("operator", "idp")} for u in users)
    events = _events(api_store)
    edits = [e for e in events if e[0] == "mapping.set"]
    per_user = [e for e in events if e[0] == "roles.recomputed"]
    assert len(edits) == 1 and sorted(e[1] for e in per_user) == users
    mapping_id = edits[0][2]["mapping_id"]
    assert {e[2]["cause"]["mapping_id"] for e in per_user} == {mapping_id}
    assert {e[2]["cause"]["cause"] for e in per_user} == {"mapping.set"}
    assert _pending(api_store) == 0


def test_an_idp_patch_completes_between_two_batches_of_a_large_save(
    api_store: Store, scim: Scim
) -> None:
    users = _big_group(api_store)
    late = users[-1]  # in the last batch: its PATCH lands before the save reaches it
    first_batch, patched = threading.Event(), threading.Event()

    def progress(done: int, total: int) -> None:
        if done == role_sync.BATCH:
            first_batch.set()
            assert patched.wait(DEADLINE), "the PATCH did not complete between batches"

    saver = threading.Thread(
        target=set_mapping, args=(api_store, "Everyone", "operator", OPERATOR, progress)
    )
    saver.start()
    try:
        assert first_batch.wait(DEADLINE)
        assert roles_of(api_store, late) == set()  # not reached yet
        reply = scim.patch(f"/Users/{late}", patch_op({"op": "replace", "path": "active",
                                                       "value": False}))  # fmt: skip
        assert reply.status_code == 200, reply.text
        patched.set()
    finally:
        patched.set()
        saver.join(DEADLINE)
    assert not saver.is_alive()
    assert roles_of(api_store, late) == set()  # inactive: no IdP role, whatever the save did
    assert all(roles_of(api_store, u) == {("operator", "idp")} for u in users[:-1])


def test_the_worker_finishes_a_save_interrupted_between_batches(api_store: Store) -> None:
    users = _big_group(api_store)
    _record, pending_id = _save_mapping(api_store, "Everyone", "operator", OPERATOR)
    assert pending_id is not None
    # the process stops after one committed batch
    with db_session:
        key = api_store.db.PendingRecompute[pending_id].group_name_key
    batch = role_sync.BATCH
    assert recompute_queue._step(api_store, pending_id, key) == (batch, batch)
    assert _pending(api_store) == 1
    assert sum(roles_of(api_store, u) == {("operator", "idp")} for u in users) == batch

    assert reconcile_roles(api_store) == MEMBERS - batch
    assert all(roles_of(api_store, u) == {("operator", "idp")} for u in users)
    per_user = [e for e in _events(api_store) if e[0] == "roles.recomputed"]
    assert sorted(e[1] for e in per_user) == users
    assert {e[2]["cause"]["cause"] for e in per_user} == {"mapping.set"}
    assert _pending(api_store) == 0
    assert reconcile_roles(api_store) == 0


def test_deleting_a_large_mapped_group_takes_its_roles_in_batches(
    api_store: Store, scim: Scim
) -> None:
    users = _big_group(api_store)
    set_mapping(api_store, "Everyone", "operator", OPERATOR)
    with db_session:
        group_id = api_store.db.Group.get(display_name_key="everyone").id
    reply = scim.delete(f"/Groups/{group_id}")
    assert reply.status_code == 204, reply.text
    assert all(roles_of(api_store, u) == set() for u in users)
    with db_session:
        events = api_store.db.AuditEvent.select(
            lambda e: e.action == "roles.recomputed" and e.actor != OPERATOR
        )
        causes = {(e.after["cause"]["cause"], e.after["cause"]["group_id"]) for e in events}
        assert sorted({e.target_id for e in events}) == users
    assert causes == {("group.deleted", group_id)}
    assert _pending(api_store) == 0
