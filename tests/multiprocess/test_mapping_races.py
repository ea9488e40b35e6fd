"""Mapping edits race group creates, renames and deletes on PostgreSQL, and no interleaving
leaves a role without a mapping or withholds one. The groups change over HTTP on two real
API processes (no worker runs, so nothing repairs drift afterwards); the mapping changes
through the operators' use cases in this process at the same instant. After every round,
each user's IdP roles must equal a recomputation from scratch out of the rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from store.context import Store
from store.services.roles import remove_mapping, set_mapping
from tests.bench.load import GROUP, PATCH, USER, Client, Reply
from tests.multiprocess.conftest import Cluster
from tests.store.identity_factories import role_drift
from tests.support import open_test_store

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCIM = "/scim/v2"
ROUNDS = 36
USERS = 6
ROLE = "operator"
OPERATOR = "operator:race-test"
DEADLINE_SECONDS = 240


@pytest.fixture(scope="module")
def operator_store(load_pair: Cluster) -> Iterator[Store]:
    store = open_test_store(load_pair.url)
    yield store
    store.close()


def _ok(reply: Reply, *statuses: int) -> Reply:
    assert reply.status in statuses, (reply.status, reply.raw[:300])
    return reply


def _rename(name: str) -> dict[str, object]:
    return {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": name}]}  # fmt: skip


def _together(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run both at the same instant (a barrier), each bounded in time; re-raise failures."""
    barrier = threading.Barrier(2, timeout=30)

    def go(fn: Callable[[], object]) -> object:
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(go, first), pool.submit(go, second)]
        for future in futures:
            future.result(timeout=60)


def _race_round(round_no: int, idp: Client, store: Store, members: list[dict[str, str]]) -> None:
    """One round: kind 0/1 a rename into the mapped name, 2/3 a create under it, 4/5 a
    delete of (or, every other time, a rename away from) the mapped group, racing a mapping
    set (even kinds) or removal (odd kinds, the mapping made before the race)."""
    name, kind = f"Race {round_no}", round_no % 6
    staging = {"schemas": [GROUP], "displayName": f"Staging {round_no}", "members": members}
    if kind in (1, 3, 5):
        set_mapping(store, name, ROLE, OPERATOR)
    edit = set_mapping if kind % 2 == 0 else remove_mapping
    change: Callable[[], object]
    if kind in (0, 1):
        group_id = _ok(idp.post(f"{SCIM}/Groups", staging), 201).json["id"]
        path, body = f"{SCIM}/Groups/{group_id}", _rename(name)
        change = lambda: _ok(idp.patch(path, body), 200, 204)  # noqa: E731
    elif kind in (2, 3):
        created = {**staging, "displayName": name}
        change = lambda: _ok(idp.post(f"{SCIM}/Groups", created), 201)  # noqa: E731
    else:
        created = {**staging, "displayName": name}
        path = f"{SCIM}/Groups/{_ok(idp.post(f'{SCIM}/Groups', created), 201).json['id']}"
        if round_no % 12 < 6:
            change = lambda: _ok(idp.delete(path), 204)  # noqa: E731
        else:
            away = _rename(f"Away {round_no}")
            change = lambda: _ok(idp.patch(path, away), 200, 204)  # noqa: E731
    _together(change, lambda: edit(store, name, ROLE, OPERATOR))


def test_mapping_edits_and_group_changes_serialise(
    load_pair: Cluster, operator_store: Store
) -> None:
    token = load_pair.token("race-idp")
    clients = [load_pair.client(0, token), load_pair.client(1, token)]
    members = []
    for n in range(USERS):
        body = {"schemas": [USER], "userName": f"racer{n}@example.com", "active": True}
        members.append({"value": _ok(clients[0].post(f"{SCIM}/Users", body), 201).json["id"]})
    started, failures = time.monotonic(), []
    try:
        for round_no in range(ROUNDS):
            assert time.monotonic() - started < DEADLINE_SECONDS, "rounds took too long"
            _race_round(round_no, clients[round_no % 2], operator_store, members)
            drift = role_drift(operator_store)
            if drift:
                failures.append((round_no, drift))
    finally:
        for client in clients:
            client.close()
    assert failures == [], f"{len(failures)} of {ROUNDS} rounds drifted: {failures[:3]}"
