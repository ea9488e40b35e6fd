"""Fixtures of the operator UI tests: a real SQLite store (the TUI is a client of the store
use cases, which the store suites test on both backends), seeded through those use cases,
and the app built by the production factory with a fixed clock."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from pony.orm import db_session
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from store.context import Store
from tests.support import FakeClock, wipe
from tests.tui.data import OPERATOR, Seeded, deterministic, seed
from tui.app import ControlApp, build_app
from tui.widgets.fitted_table import FittedTable


@pytest.fixture
def tui_store(_session_stores: dict[str, Any], clock: FakeClock) -> Store:
    """An empty SQLite store with the test's clock, counting ids and fixed randomness."""
    base: Store = _session_stores["get"]("sqlite")
    wipe(base)
    with db_session:  # restart autoincrement ids so every test sees the same numbers
        if base.db.select("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'"):
            base.db.execute("DELETE FROM sqlite_sequence")
    return deterministic(replace(base, clock=clock))


@pytest.fixture
def seeded(tui_store: Store, clock: FakeClock) -> Seeded:
    return seed(tui_store, clock)


@pytest.fixture
def make_app(tui_store: Store, clock: FakeClock) -> Callable[..., ControlApp]:
    def make(**overrides: Any) -> ControlApp:
        options: dict[str, Any] = {"refresh_seconds": None, "search_debounce_seconds": 0.01}
        options.update(overrides)
        return build_app(tui_store, tui_store.settings, OPERATOR, clock=clock, **options)

    return make


async def settle(pilot: Pilot[Any], rounds: int = 2) -> None:
    """Let every thread worker finish and its messages be handled (handlers may start more)."""
    for _ in range(rounds):
        for worker in list(pilot.app.workers):
            with contextlib.suppress(WorkerCancelled):  # superseded by a newer load
                await worker.wait()
        await pilot.pause()


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press ``keys``, then let what they started finish (``settle``)."""
    await pilot.press(*keys)
    await settle(pilot)


async def wait_until(pilot: Pilot[Any], check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    assert check(), "condition not reached in time"


def table_rows(app: ControlApp, selector: str) -> list[tuple[str, ...]]:
    table = app.screen.query_one(selector, FittedTable)
    return [table.cells_of(key) or () for key in table.row_keys]


def error_notifications(app: ControlApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications if n.severity == "error"]


def notifications(app: ControlApp) -> list[str]:
    return [n.message for n in app._notifications]


def move_to(app: ControlApp, selector: str, first_cell: str) -> None:
    """Put the cursor of a table on the row whose first cell reads ``first_cell``."""
    table = app.screen.query_one(selector, FittedTable)
    cells = [(table.cells_of(key) or ("",))[0] for key in table.row_keys]
    table.move_cursor(row=cells.index(first_cell), animate=False)
