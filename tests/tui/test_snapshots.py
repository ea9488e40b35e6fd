"""Snapshots of every panel at 80x24 and 120x40, built with the production factory on a
seeded store and a fixed clock (relative times are stable). Update them on purpose with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from store.context import Store
from tests.tui.conftest import settle
from tests.tui.data import Seeded
from tests.tui.test_activity import _refusals
from tui.app import ControlApp
from tui.widgets.fitted_table import FittedTable

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


class Typed(str):
    """Text typed into the focused field at once, every character a key press, settled
    after the last one: the screen shows what is typed, not each keystroke on the way."""


def _keys(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(*key) if isinstance(key, Typed) else await pilot.press(key)
            await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False

    return run


@pytest.mark.parametrize("size", SIZES)
def test_provisioning_panel(
    snap_compare: Any, seeded: Seeded, make_app: Callable[..., ControlApp], size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_keys())


@pytest.mark.parametrize("size", SIZES)
def test_user_management_panel(
    snap_compare: Any, seeded: Seeded, make_app: Callable[..., ControlApp], size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_keys("2"))


@pytest.mark.parametrize("size", SIZES)
def test_user_detail(
    snap_compare: Any, seeded: Seeded, make_app: Callable[..., ControlApp], size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_keys("2", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_mapping_panel(
    snap_compare: Any, seeded: Seeded, make_app: Callable[..., ControlApp], size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_keys("3"))


def test_mapping_preview_dialog(
    snap_compare: Any, seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _keys("3", "a", Typed("Engineering"))(pilot)
        pilot.app.screen.query_one("#role", Select).value = "viewer"
        await settle(pilot)
        await pilot.pause(0.1)
        await settle(pilot)
        pilot.app.screen.query_one("#preview", FittedTable).focus()
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


def test_user_management_without_colour(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_keys("2"))


VARIANTS = [
    pytest.param((80, 24), False, id="80x24"),
    pytest.param((120, 40), False, id="120x40"),
    pytest.param((80, 24), True, id="80x24-NO_COLOR"),
]
Run = Callable[[Pilot[Any]], Awaitable[None]]


def _then(run: Run, *selectors: str, keys: tuple[str, ...] = ()) -> Run:
    """``run``, then focus each selector in turn, press ``keys``, and stop text cursors
    blinking (a blink would make the snapshot depend on timing)."""

    async def steps(pilot: Pilot[Any]) -> None:
        await run(pilot)
        for selector in selectors:
            pilot.app.screen.query_one(selector).focus()
            await settle(pilot)
        await _keys(*keys)(pilot)
        for area in pilot.app.screen.query(TextArea):
            area.cursor_blink = False

    return steps


async def _mapping_typo(pilot: Pilot[Any]) -> None:
    await _keys("3", "a", Typed("Enginering"))(pilot)
    pilot.app.screen.query_one("#role", Select).value = "viewer"
    await settle(pilot)
    await pilot.pause(0.1)
    await settle(pilot)


async def _activity_400(pilot: Pilot[Any]) -> None:
    await _keys("f")(pilot)
    table = pilot.app.query_one("#activity", FittedTable)
    table.focus()
    table.move_cursor(row=2)  # the 400 invalidFilter with the long filter
    await settle(pilot)


SCREENS: dict[str, tuple[bool, Run]] = {
    # name: (with the refusals of tests/tui/test_activity.py logged, what to do)
    "help": (False, _keys("question_mark")),
    "activity_with_refusals": (True, _keys()),
    "activity_detail": (True, _then(_activity_400, keys=("enter",))),
    "token_dialog": (False, _then(_keys("a", Typed("JumpCloud"), "enter"))),
    "token_prompt_with_connection": (False, _keys("down", "down", "a", Typed("Okta 2026"))),
    "rotate_confirm": (False, _keys("down", "down", "down", "o")),
    "mapping_dialog_unknown_group": (False, _mapping_typo),
    "user_detail_sessions": (False, _then(_keys("2", "enter"), "#user-sessions")),
    "audit_detail": (False, _then(_keys("2", "enter"), "#user-audit", keys=("enter",))),
    "deactivation_reason_dialog": (False, _keys("2", "enter", "d")),
}


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_screen(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    tui_store: Store,
    monkeypatch: pytest.MonkeyPatch,
    screen: str,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    with_refusals, run = SCREENS[screen]
    if with_refusals:
        _refusals(tui_store)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=size, run_before=run)
