"""The app as a whole: tabs by key, the command palette, no colour, the one factory, and the
format helpers the panels share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import TabbedContent

from store.domain.display import clip
from store.records import RoleSource
from tests.tui.conftest import settle, table_rows
from tests.tui.data import Seeded
from tui.app import ControlApp
from tui.format import activity_time, audit_change, relative, roles_summary
from tui.screens.dialogs import PromptDialog
from tui.widgets.fitted_table import ColumnSpec, fit_widths

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_number_keys_switch_tabs_and_focus_the_panel(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tabs = app.query_one("#tabs", TabbedContent)
        for key, tab, table in (
            ("2", "users", "user-table"),
            ("3", "mappings", "mapping-table"),
            ("1", "provisioning", "connections"),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert tabs.active == tab
            assert app.focused is not None and app.focused.id == table


async def test_command_palette_offers_the_panels_actions(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {
            "Generate SCIM token",
            "Revoke SCIM token",
            "Copy SCIM Base URL",
            "Show User Management",
            "Search users",
            "Add group-to-role mapping",
        } <= titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Generate SCIM")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)


async def test_runs_without_colour(
    seeded: Seeded, make_app: Callable[..., ControlApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        await pilot.press("2")
        await settle(pilot)
        statuses = {r[0]: r[2] for r in table_rows(app, "#user-table")}
        assert statuses["bob@example.com"] == "○ inactive"  # status in words, not only colour


def test_relative_times() -> None:
    assert relative(None, NOW) == "never"
    assert relative(NOW - timedelta(seconds=59), NOW) == "just now"
    assert relative(NOW - timedelta(minutes=3, seconds=30), NOW) == "3 min ago"
    assert relative(NOW - timedelta(hours=2), NOW) == "2 h ago"
    assert relative(NOW - timedelta(days=3), NOW) == "3 d ago"
    assert relative(NOW - timedelta(days=90), NOW) == "2025-10-07"
    assert relative(NOW + timedelta(minutes=5), NOW) == "just now"  # clocks a little apart
    assert relative(NOW.replace(tzinfo=None) - timedelta(minutes=1), NOW) == "1 min ago"


def test_activity_time_shows_the_date_only_for_older_days() -> None:
    assert activity_time(NOW - timedelta(minutes=1), NOW) == "08:59:00"
    assert activity_time(NOW - timedelta(days=1), NOW) == "01-04 09:00"


def test_roles_summary_and_clip() -> None:
    roles = (
        RoleSource("admin", "manual", None),
        RoleSource("viewer", "idp", "Viewers"),
        RoleSource("viewer", "idp", "Support"),
    )
    assert roles_summary(roles) == "admin·manual, viewer·IdP:Support, viewer·IdP:Viewers"
    assert roles_summary(()) == "-"
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc" and clip(None, 3) == ""


def test_fit_widths_shares_the_spare_room_by_weight() -> None:
    specs = [ColumnSpec("a", "A", 10, 1), ColumnSpec("b", "B", 5), ColumnSpec("c", "C", 10, 3)]
    assert fit_widths(specs, 20) == [10, 5, 10]  # too narrow: minimums (the table scrolls)
    assert fit_widths(specs, 33) == [12, 5, 16]
    assert sum(fit_widths(specs, 101)) == 101


def test_audit_change_text() -> None:
    assert (
        audit_change(None, {"role": "admin", "source": "manual"}) == "role: admin, source: manual"
    )
    assert audit_change({"active": True}, {"active": False}) == "active: True -> False"
    assert audit_change(["operator"], []) == "[operator] -> []"
    assert audit_change({"a": 1, "b": 2}, {"a": 1, "b": 3}) == "b: 2 -> 3"
    assert audit_change(None, None) == ""


async def test_workers_report_back_with_past_tense_messages(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    seen: list[str] = []
    app = make_app()
    hook = lambda message: seen.append(type(message).__name__)  # noqa: E731
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        assert {"ProvisioningLoaded", "UsersLoaded", "MappingsLoaded"} <= set(seen)
        seen.clear()
        await pilot.press("down", "x")  # the token beneath the first connection
        await pilot.click("#confirm")
        await settle(pilot)
        assert seen.index("TokenRevoked") < seen.index("ProvisioningLoaded")
        assert "StoreCallFailed" not in seen
