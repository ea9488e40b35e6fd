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


def _keys(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
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
        await _keys("3", "a", *"Engineering")(pilot)
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


def _snap(
    snap_compare: Any,
    app: ControlApp,
    size: tuple[int, int],
    run: Callable[[Pilot[Any]], Awaitable[None]],
) -> bool:
    return bool(snap_compare(app, terminal_size=size, run_before=run))


def _colour(monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_help_screen(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _colour(monkeypatch, no_color)
    assert _snap(snap_compare, make_app(), size, _keys("question_mark"))


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_activity_detail(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    tui_store: Store,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _refusals(tui_store)
    _colour(monkeypatch, no_color)

    async def run(pilot: Pilot[Any]) -> None:
        await _keys("f")(pilot)
        table = pilot.app.query_one("#activity", FittedTable)
        table.focus()
        table.move_cursor(row=2)  # the 400 invalidFilter with the long filter
        await _keys("enter")(pilot)
        pilot.app.screen.query_one(TextArea).cursor_blink = False

    assert _snap(snap_compare, make_app(), size, run)


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_activity_with_refusals(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    tui_store: Store,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _refusals(tui_store)
    _colour(monkeypatch, no_color)
    assert _snap(snap_compare, make_app(), size, _keys())


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_token_dialog(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _colour(monkeypatch, no_color)

    async def run(pilot: Pilot[Any]) -> None:
        await _keys("a", *"JumpCloud", "enter")(pilot)
        pilot.app.screen.query_one(TextArea).cursor_blink = False

    assert _snap(snap_compare, make_app(), size, run)


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_mapping_dialog_unknown_group(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _colour(monkeypatch, no_color)

    async def run(pilot: Pilot[Any]) -> None:
        await _keys("3", "a", *"Enginering")(pilot)
        pilot.app.screen.query_one("#role", Select).value = "viewer"
        await settle(pilot)
        await pilot.pause(0.1)
        await settle(pilot)

    assert _snap(snap_compare, make_app(), size, run)


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_user_detail_sessions(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _colour(monkeypatch, no_color)

    async def run(pilot: Pilot[Any]) -> None:
        await _keys("2", "enter")(pilot)
        pilot.app.screen.query_one("#user-sessions", FittedTable).focus()
        await settle(pilot)

    assert _snap(snap_compare, make_app(), size, run)


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_audit_detail(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _colour(monkeypatch, no_color)

    async def run(pilot: Pilot[Any]) -> None:
        await _keys("2", "enter")(pilot)
        pilot.app.screen.query_one("#user-audit", FittedTable).focus()
        await _keys("enter")(pilot)
        pilot.app.screen.query_one(TextArea).cursor_blink = False

    assert _snap(snap_compare, make_app(), size, run)


@pytest.mark.parametrize(("size", "no_color"), VARIANTS)
def test_deactivation_reason_dialog(
    snap_compare: Any,
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    no_color: bool,
) -> None:
    _colour(monkeypatch, no_color)
    assert _snap(snap_compare, make_app(), size, _keys("2", "enter", "d"))
