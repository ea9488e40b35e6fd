"""Snapshots of every panel at 80x24 and 120x40, built with the production factory on a
seeded store and a fixed clock (relative times are stable). Update them on purpose with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from tests.tui.conftest import settle
from tests.tui.data import Seeded
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
