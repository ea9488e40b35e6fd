"""Benchmark rows for large role changes: IdP PATCH latency while a mapping for a large group
is saved, and role reconciliation with nothing to repair and with many repairs.

The large work runs in this process through the store's use cases (as ``mapping set`` and
the worker run them), against the server's database; meanwhile client threads send Okta's
PATCH to members of the group being changed, and only the requests sent while the work ran
count. Sizes:

  BENCH_MAPPING_GROUP  members of the mapped group (default 20000, at most the users)
  BENCH_REPAIR_SHARE   share of all users whose IdP roles the repair run must fix
                       (default 0.56: 56,000 repairs at BENCH_USERS=100000)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pony.orm import db_session

from store.config import settings_from_dict
from store.context import Store, open_store
from store.queries.filtering import sql_timestamp
from store.queries.groups import get_group
from store.records import GroupInput
from store.services.groups import create_group, replace_group
from store.services.maintenance import reconcile_roles
from store.services.roles import ensure_default_roles, set_mapping
from tests.bench.load import PATCH, Client
from tests.bench.scenarios import SCIM, Bench, Row, row_of

GROUP_NAME = "Bench Mapped"
PUT_NAME = "Bench Put"
KEY = "bench mapped"
ACTOR = "operator:bench"
STALE = "bench stale"


def _sizes(users: int) -> tuple[int, int]:
    group = min(users, int(os.environ.get("BENCH_MAPPING_GROUP", "20000")))
    repairs = int(users * float(os.environ.get("BENCH_REPAIR_SHARE", "0.56")))
    return group, repairs


def during(
    bench: Bench, name: str, work: Callable[[threading.Event], float], members: list[str]
) -> Row:
    """Run ``work`` in a thread (it sets the event it gets once its use case starts) while
    the clients PATCH ``members`` round-robin; the row has the requests sent from then until
    it finished, and the work's own seconds in its notes."""
    started, finished = threading.Event(), threading.Event()
    took: list[float] = []

    def background() -> None:
        try:
            took.append(work(started))
        finally:
            started.set()
            finished.set()

    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}

    def step(client: Client, i: int) -> int:
        if finished.is_set():
            return 0  # not sent: the work is over
        return client.patch(f"{SCIM}/Users/{members[i % len(members)]}", body).status

    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    started.wait(bench.timeout)
    run = bench.drive(step, 1_000_000)
    thread.join(bench.timeout)
    for index in [i for i, status in run.statuses.items() if status == 0]:
        del run.statuses[index], run.latencies[index]
    row = row_of(name, run, {200}, [f"the work took {took[0]:.2f} s" if took else "work failed"])
    row.seconds = took[0] if took else float("inf")
    return row


def in_child(url: str, job: str, started: threading.Event) -> tuple[float, int]:
    """Run ``job`` (``save`` or ``reconcile``) in its own process, as ``mapping set`` and the
    worker do (so it does not share this process's interpreter lock with the clients);
    ``started`` is set when its use case begins. (seconds the use case took, its result)."""
    command = [sys.executable, "-m", "tests.bench.batching", job, url]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        child.stdout.readline()  # "ready": imports done, store open
        started.set()
        out = child.stdout.read()
        if child.wait(3600) != 0:
            raise RuntimeError(f"bench {job} failed: {out}")
    seconds, result = out.split()[-2:]
    return float(seconds), int(result)


def _store(url: str) -> Store:
    return open_store(settings_from_dict({"database": {"url": url}}, source="bench"))


def _drift(store: Store, group: int, repairs: int) -> int:
    """Take IdP roles from the first members and give stale ones to non-members, raw, as a
    crash or a manual database edit would: ``repairs`` rows for reconcile to fix."""
    taken = min(group, repairs)
    stale = max(0, repairs - taken)
    params = {"key": KEY, "stale_group": STALE, "taken": taken, "stale": stale}
    params["now"] = sql_timestamp(store, store.clock())
    with db_session:
        store.db.execute(
            'DELETE FROM "control_role_assignment" WHERE "id" IN (SELECT "id" FROM '
            '"control_role_assignment" WHERE "source" = \'idp\' AND "via_group" = $key '
            'ORDER BY "user" LIMIT $taken)',
            {},
            params,
        )
        store.db.execute(
            'INSERT INTO "control_role_assignment" '
            '("user", "role", "source", "via_group", "created", "granted_by") '
            "SELECT u.\"id\", 'viewer', 'idp', $stale_group, $now, 'bench' FROM \"scim_user\" u "
            'WHERE NOT EXISTS (SELECT 1 FROM "scim_membership" ms JOIN "scim_group" g ON '
            'g."id" = ms."group" WHERE ms."user" = u."id" AND g."display_name_key" = $key) '
            'ORDER BY u."id" LIMIT $stale',
            {},
            params,
        )
    return taken + stale


def large_changes(bench: Bench, url: str, ids: list[str]) -> tuple[list[Row], dict[str, Any]]:
    """The three rows, and the figures the targets speak of."""
    group, repairs = _sizes(len(ids))
    members = ids[:group]
    store = _store(url)
    extra: dict[str, Any] = {"users": len(ids), "group": group}
    try:
        ensure_default_roles(store)
        create_group(store, GroupInput(display_name=GROUP_NAME, document={}), tuple(members), ACTOR)
        save = lambda started: in_child(url, "save", started)[0]  # noqa: E731
        rows = [during(bench, f"IdP PATCH during a {group} mapping save", save, members)]
        reconcile_roles(store)
        started = time.perf_counter()
        extra["noop_changed"] = reconcile_roles(store)
        extra["noop_seconds"] = time.perf_counter() - started
        extra["repairs"] = _drift(store, group, repairs)
        changed: list[int] = []

        def repair(started: threading.Event) -> float:
            seconds, result = in_child(url, "reconcile", started)
            changed.append(result)
            return seconds

        name = f"IdP PATCH during reconcile of {extra['repairs']} repairs"
        rows.append(during(bench, name, repair, members))
        extra["repair_changed"] = changed[0] if changed else None
        extra["repair_seconds"] = rows[-1].seconds
        set_mapping(store, PUT_NAME, "viewer", ACTOR)
        create_group(store, GroupInput(display_name=PUT_NAME, document={}), (), ACTOR)
        put = lambda started: in_child(url, "put", started)[0]  # noqa: E731
        rows.append(during(bench, f"IdP PATCH during a {group}-member mapped group PUT", put,
                           members))  # fmt: skip
        extra["rows"] = len(rows)
    finally:
        store.close()
    return rows, extra


def print_targets(extra: dict[str, Any], rows: list[Row]) -> None:
    """The targets for these rows, met or with the measured figure."""
    users = extra["users"]
    for row in rows[-extra.get("rows", len(rows)) :]:
        p99 = row.p99_ms or 0.0
        mark = "met    " if row.requests and p99 < 200 else "NOT met"
        print(f"  {mark}  {row.name}: IdP PATCH p99 < 200 ms: {p99:.1f} ms, {row.notes[-1]}")
    noop, repair = extra["noop_seconds"], extra["repair_seconds"]
    print(f"  {'met    ' if noop < 2 else 'NOT met'}  reconcile no-op at {users} users < 2 s: "
          f"{noop:.2f} s ({extra['noop_changed']} changed)")  # fmt: skip
    print(f"  {'met    ' if repair < 15 else 'NOT met'}  reconcile {extra['repairs']} repairs at "
          f"{users} users < 15 s: {repair:.2f} s ({extra['repair_changed']} changed)")  # fmt: skip


def _group_id(store: Store, key: str) -> str:
    with db_session:
        return str(store.db.Group.get(display_name_key=key).id)


def main(job: str, url: str) -> None:
    store = _store(url)
    try:
        print("ready", flush=True)
        started = time.perf_counter()
        if job == "save":
            set_mapping(store, GROUP_NAME, "operator", ACTOR)
            result = 0
        elif job == "put":  # the mapped group's members, PUT into an empty mapped group
            members = tuple(m.id for m in get_group(store, _group_id(store, KEY)).members or ())
            data = GroupInput(display_name=PUT_NAME, document={})
            result = len(replace_group(store, _group_id(store, "bench put"), data, members,
                                       "idp:bench").members or ())  # fmt: skip
        else:
            result = reconcile_roles(store)
        print(f"{time.perf_counter() - started:.3f} {result}")
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
