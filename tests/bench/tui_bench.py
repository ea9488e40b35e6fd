"""How fast the operators' User Management stays with a large directory (default 100,000
users): the paged ``search_users`` query alone, and the TUI driven through Pilot (opening the
panel, searching by name, paging on, filtering by status). Prints figures; asserts nothing.

    .venv/bin/python -m tests.bench.tui_bench [--users N] [--backend sqlite|postgresql]

The directory is written in a few large transactions straight through the entities (the
store's write use cases are measured by ``make bench``): users with Okta-shaped names, one
in five in a mapped IdP group (an IdP role each), one in twenty with a manual role, one in
ten inactive.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pony.orm import db_session

from store.context import Store
from store.domain.names import fold
from store.queries.directory import search_users
from store.services.connections import default_connection
from store.services.roles import ensure_default_roles, set_mapping
from tests.support import create_pg_database, drop_pg_database, open_test_store
from tui.app import build_app
from tui.screens.users import UsersPanel

BATCH = 10_000
NOW = datetime(2026, 1, 5, 9, 0)


def user_name(n: int) -> str:
    return f"user{n:06d}@example.com"


def fill(store: Store, users: int) -> float:
    """Write the directory; returns the seconds it took."""
    started = time.perf_counter()
    ensure_default_roles(store)
    set_mapping(store, "Engineering", "operator", "operator:bench")
    with db_session:
        group = store.db.Group(
            id="g-engineering", connection=default_connection(store, "bench"),
            display_name="Engineering", display_name_key="engineering",
            document={}, created=NOW, last_modified=NOW,
        )  # fmt: skip
    for start in range(0, users, BATCH):
        with db_session:
            group = store.db.Group["g-engineering"]
            operator, admin = store.db.Role["operator"], store.db.Role["admin"]
            for n in range(start, min(start + BATCH, users)):
                _one_user(store, n, group, operator, admin)
        print(f"  {min(start + BATCH, users):>7,} users written", flush=True)
    return time.perf_counter() - started


def _one_user(store: Store, n: int, group: Any, operator: Any, admin: Any) -> None:
    name, display = user_name(n), f"Given{n} Family{n}"
    changed = NOW - timedelta(minutes=n % 5000)
    user = store.db.User(
        id=f"{n:032x}", connection=group.connection, user_name=name, user_name_key=fold(name),
        display_name=display,
        display_name_key=fold(display), active=n % 10 != 3, created=changed,
        last_modified=changed, document={"userName": name, "displayName": display},
    )  # fmt: skip
    if n % 5 == 0:
        store.db.Membership(group=group, user=user, created=changed)
        if user.active:
            store.db.RoleAssignment(
                user=user, role=operator, source="idp", via_group="engineering",
                created=changed, granted_by="token:Okta SCIM",
            )  # fmt: skip
    if n % 20 == 7:
        store.db.RoleAssignment(
            user=user, role=admin, source="manual", via_group="", created=changed,
            granted_by="operator:bench",
        )  # fmt: skip


def analyze(store: Store) -> None:
    """Planner statistics, as autovacuum would gather them shortly after a bulk load."""
    with db_session:
        store.db.execute("ANALYZE")


def timed(call: Callable[[], Any], runs: int = 5) -> tuple[float, float, Any]:
    """Median and worst milliseconds of ``runs`` calls, and the last result."""
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples), result


def query_figures(store: Store, users: int) -> list[tuple[str, float, float, int]]:
    middle = user_name(users // 2)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("first page (100), no search", lambda: search_users(store, "", 0, 100)),
        ("page at offset total-100", lambda: search_users(store, "", users - 100, 100)),
        (f"search '{middle}' (1 match)", lambda: search_users(store, middle, 0, 100)),
        ("search 'family777' (111 matches)", lambda: search_users(store, "family777", 0, 100)),
        ("search 'example' (all match)", lambda: search_users(store, "example", 0, 100)),
        ("search 'nobody-by-this-name' (0)", lambda: search_users(store, "nobody-by", 0, 100)),
        ("status inactive, first page", lambda: search_users(store, "", 0, 100, "inactive")),
    ]
    rows = []
    for label, call in cases:
        median, worst, page = timed(call)
        rows.append((label, median, worst, page.total))
    return rows


async def _wait(check: Callable[[], bool], limit: float = 30.0) -> float:
    """Poll the UI state; returns the milliseconds until ``check`` held."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > limit:
            raise TimeoutError("the UI did not get there in time")
        await asyncio.sleep(0.002)
    return (time.perf_counter() - started) * 1000


async def tui_figures(store: Store, users: int) -> list[tuple[str, float]]:
    """Each figure runs from the key press to the panel showing the answer."""
    app = build_app(store, store.settings, "operator:bench", refresh_seconds=None)
    debounce_ms = app.ctx.search_debounce_seconds * 1000
    middle = user_name(users // 2)
    figures: list[tuple[str, float]] = []
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(UsersPanel)
        await _wait(lambda: len(panel.users) > 0)
        figures.append(("app start -> first page of users loaded", _ms(started)))

        async def timed_keys(label: str, keys: str | list[str], done: Callable[[], bool]) -> None:
            before = panel.generation
            started = time.perf_counter()
            await pilot.press(*keys)
            await _wait(lambda: panel.generation > before and done() and _settled(panel))
            figures.append((label, _ms(started)))

        await timed_keys("press 2 -> User Management shown, page reloaded", ["2"], lambda: True)
        await pilot.press("slash", *middle[:-1])
        await timed_keys(
            f"last key -> 1 match shown (incl. {debounce_ms:.0f} ms debounce)",
            middle[-1], lambda: panel.text == middle,
        )  # fmt: skip
        await pilot.press("ctrl+a", "ctrl+k", *"family77")
        await timed_keys(
            "last key -> 'family777' shown (incl. debounce)", "7",
            lambda: panel.text == "family777",
        )  # fmt: skip
        await pilot.press("ctrl+a", "ctrl+k", "enter")
        await _wait(lambda: panel.text == "" and _settled(panel))
        app.query_one("#user-table").move_cursor(row=0)  # type: ignore[attr-defined]
        await pilot.pause()
        loaded = len(panel.users)
        started = time.perf_counter()
        await pilot.press("end")
        await _wait(lambda: len(panel.users) > loaded and _settled(panel))
        figures.append(("End -> next page appended", _ms(started)))
        app.query_one("#user-table").move_cursor(row=0)  # type: ignore[attr-defined]
        await pilot.pause()
        await timed_keys("f -> active users only", "f", lambda: panel.status == "active")
    return figures


def _settled(panel: UsersPanel) -> bool:
    return panel.shown_generation == panel.generation and not panel.loading_more


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="tui-bench-")
    url = (f"sqlite:///{Path(scratch.name) / 'bench.db'}" if args.backend == "sqlite"
           else create_pg_database())  # fmt: skip
    store = open_test_store(url)
    try:
        print(f"filling {args.users:,} users on {args.backend} ...", flush=True)
        seconds = fill(store, args.users)
        print(f"filled in {seconds:.1f} s ({args.users / seconds:,.0f} users/s)\n")
        if args.backend == "postgresql":
            analyze(store)
        print(f"search_users on {args.users:,} users ({args.backend}), 5 runs each")
        print(f"  {'query':<40} {'median ms':>10} {'max ms':>8} {'total':>8}")
        for label, median, worst, total in query_figures(store, args.users):
            print(f"  {label:<40} {median:>10.1f} {worst:>8.1f} {total:>8,}")
        print(f"\nTUI through Pilot at 120x40 ({args.backend})")
        for label, ms in asyncio.run(tui_figures(store, args.users)):
            print(f"  {label:<58} {ms:>8.0f} ms")
    finally:
        store.close()
        if args.backend == "postgresql":
            drop_pg_database(url)
        scratch.cleanup()


if __name__ == "__main__":
    main()
