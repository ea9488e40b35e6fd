"""The User Management panel and the user detail screen, driven through Pilot against a real
store: list, search, status filter, lazy pages, and every operator action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pony.orm import db_session
from textual.widgets import Input, Label, Static

from store.context import Store
from store.domain.names import fold
from store.queries.identity import audit_events, user_detail
from store.services.connections import default_connection, transfer_connection
from store.services.lifecycle import deactivate_user
from tests.tui.conftest import error_notifications, notifications, settle, table_rows, wait_until
from tests.tui.data import PEOPLE, Seeded
from tui.app import ControlApp
from tui.screens.dialogs import ChoiceDialog, ConfirmDialog, PromptDialog
from tui.screens.user_detail import UserDetailScreen
from tui.screens.users import UsersPanel
from tui.widgets.fitted_table import FittedTable


async def _open_users(pilot: object) -> None:
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("2")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def _open_detail(app: ControlApp, pilot: object, user_name: str) -> None:
    await _open_users(pilot)
    table = app.query_one("#user-table", FittedTable)
    row = [table.cells_of(k)[0] for k in table.row_keys].index(user_name)  # type: ignore[index]
    table.move_cursor(row=row)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, UserDetailScreen)
    summary = app.screen.query_one("#user-summary", Static)
    await wait_until(pilot, lambda: not str(summary.render()).startswith("Loading"))  # type: ignore[arg-type]


def _roles(store: Store, user_name: str) -> set[tuple[str, str]]:
    return {(r.role, r.source) for r in user_detail(store, user_name).roles}


def _many_users(store: Store, count: int) -> None:
    """``count`` plain users (user0000@example.com ...), written as rows: the lists under test
    need hundreds, and nothing about them but their number and order matters."""
    now = datetime(2026, 1, 5, 9, 0)
    with db_session:
        for i in range(count):
            name = f"user{i:04d}@example.com"
            store.db.User(
                id=f"u{i:04d}", connection=default_connection(store, "test"), user_name=name,
                user_name_key=fold(name), document={},
                created=now, last_modified=now,
            )  # fmt: skip


async def test_users_show_status_roles_with_source_and_last_change(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_users(pilot)
        rows = {r[0]: r for r in table_rows(app, "#user-table")}
        assert list(rows) == sorted(name for name, _, _ in PEOPLE)
        assert rows["alice@example.com"][1:] == (
            "Alice Adams",
            "● active",
            "admin·manual, operator·IdP:Engineering",
            "3 min ago",
        )
        assert rows["bob@example.com"][2:4] == ("○ inactive", "-")
        assert rows["carol@example.com"][3] == "viewer·IdP:Viewers"
        assert "5 of 5 users" in str(app.query_one("#user-count", Label).render())


async def test_search_is_debounced_and_matches_name_or_display_name(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_users(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"CHEN")
        await wait_until(
            pilot, lambda: [r[0] for r in table_rows(app, "#user-table")] == ["carol@example.com"]
        )
        await pilot.press("ctrl+a", "ctrl+k", *"%")
        await wait_until(pilot, lambda: table_rows(app, "#user-table") == [])
        assert "No users matching “%”" in str(app.query_one("#user-count", Label).render())
        await pilot.press("backspace", *"example", "enter")
        await wait_until(pilot, lambda: len(table_rows(app, "#user-table")) == 5)
        assert isinstance(app.focused, FittedTable)


async def test_typing_digits_in_search_does_not_switch_tabs(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_users(pilot)
        await pilot.press("slash", "1", "3", "q")
        assert app.query_one("#user-search", Input).value == "13q"
        assert app.is_running
        assert app.query_one("#tabs").active == "users"  # type: ignore[attr-defined]


async def test_status_filter_cycles_all_active_inactive(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_users(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert "bob@example.com" not in [r[0] for r in table_rows(app, "#user-table")]
        assert len(table_rows(app, "#user-table")) == 4
        await pilot.press("f")
        await settle(pilot)
        assert [r[0] for r in table_rows(app, "#user-table")] == ["bob@example.com"]
        await pilot.press("f")
        await settle(pilot)
        assert len(table_rows(app, "#user-table")) == 5


async def test_long_lists_load_page_by_page(
    tui_store: Store, make_app: Callable[..., ControlApp]
) -> None:
    _many_users(tui_store, 230)
    app = make_app(page_size=50)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_users(pilot)
        panel = app.query_one(UsersPanel)
        assert len(panel.users) == 50 and panel.total == 230
        await pilot.press("end")
        await settle(pilot)
        assert len(panel.users) == 100
        for _ in range(5):
            await pilot.press("end")
            await settle(pilot)
        assert len(panel.users) == 230
        assert [u.user_name for u in panel.users] == [
            f"user{i:04d}@example.com" for i in range(230)
        ]
        assert "230 of 230 users" in str(app.query_one("#user-count", Label).render())


async def test_detail_shows_groups_roles_by_source_sessions_and_audit(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_detail(app, pilot, "alice@example.com")
        summary = str(app.screen.query_one("#user-summary", Static).render())
        assert "alice@example.com — Alice Adams" in summary
        assert "Status: ● ACTIVE" in summary and "active sessions: 2" in summary
        assert f"id {seeded.users['alice@example.com']} · connection Okta" in summary
        assert str(app.screen.query_one("#user-groups", Static).render()) == "Engineering"
        roles = [r[:4] for r in table_rows(app, "#user-roles")]
        assert roles == [
            ("admin", "manual", "-", "operator:tester"),
            ("operator", "IdP", "Engineering", "token:Okta SCIM"),
        ]
        actions = [r[2] for r in table_rows(app, "#user-audit")]
        assert actions[0] == "session.started" and "user.created" in actions
        await pilot.press("escape")
        assert not isinstance(app.screen, UserDetailScreen)


async def test_grant_and_revoke_a_manual_role(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_detail(app, pilot, "carol@example.com")
        await pilot.press("a")
        assert isinstance(app.screen, ChoiceDialog)
        assert app.screen.choices == ("admin", "operator", "viewer")
        await pilot.press("enter")  # the first choice: admin
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)  # a grant is confirmed first
        assert "Grant the role admin to carol@example.com" in app.screen.question
        await pilot.press("escape")
        await settle(pilot)
        assert _roles(tui_store, "carol@example.com") == {("viewer", "idp")}
        await pilot.press("a", "enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert _roles(tui_store, "carol@example.com") == {("admin", "manual"), ("viewer", "idp")}
        event = audit_events(tui_store, "user", seeded.users["carol@example.com"], 1)[0]
        assert (event.action, event.actor) == ("role.granted", "operator:tester")
        assert ("admin", "manual") in [r[:2] for r in table_rows(app, "#user-roles")]
        assert "Granted admin to carol@example.com." in notifications(app)
        await pilot.press("x")
        assert isinstance(app.screen, ChoiceDialog)
        assert app.screen.choices == ("admin",)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Revoke the manual role admin from carol@example.com" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert _roles(tui_store, "carol@example.com") == {("viewer", "idp")}
        assert [r[:2] for r in table_rows(app, "#user-roles")] == [("viewer", "IdP")]


async def test_revoke_without_manual_roles_explains_idp_roles(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_detail(app, pilot, "carol@example.com")
        await pilot.press("x")
        assert isinstance(app.screen, UserDetailScreen)
        assert any("No manual roles to revoke" in n for n in notifications(app))


async def test_end_sessions_after_confirmation(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_detail(app, pilot, "alice@example.com")
        await pilot.press("e")
        assert isinstance(app.screen, ConfirmDialog)
        assert "End all 2 active session(s) of alice@example.com" in app.screen.question
        await pilot.click("#confirm")
        await settle(pilot)
        assert user_detail(tui_store, "alice@example.com").active_sessions == 0
        assert "active sessions: 0" in str(app.screen.query_one("#user-summary", Static).render())
        assert "Ended 2 session(s) of alice@example.com." in notifications(app)


async def test_deactivate_then_reactivate_through_the_lifecycle(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    alice = seeded.users["alice@example.com"]
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_detail(app, pilot, "alice@example.com")
        assert app.screen.check_action("reactivate", ()) is False  # hidden while active
        await pilot.press("d")
        assert isinstance(app.screen, PromptDialog)  # d deactivates, asking why
        await pilot.press("escape")
        await settle(pilot)
        assert user_detail(tui_store, alice).user.active
        await pilot.press("d", "enter")
        assert "Enter a reason first" in str(app.screen.query_one("#problem", Static).render())
        await pilot.press(*"left the company, SEC-1234", "enter")
        await settle(pilot)
        detail = user_detail(tui_store, alice)
        assert not detail.user.active and detail.active_sessions == 0
        assert {(r.role, r.source) for r in detail.roles} == {("admin", "manual")}
        event = next(e for e in detail.audit if e.action == "user.deactivated")
        assert event.actor == "operator:tester"
        assert event.detail.startswith("left the company, SEC-1234")  # the reason is recorded
        assert "Status: ○ INACTIVE" in str(app.screen.query_one("#user-summary", Static).render())
        await pilot.press("d")  # the same key now reactivates
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#confirm")
        await settle(pilot)
        assert _roles(tui_store, alice) == {("admin", "manual"), ("operator", "idp")}
        assert user_detail(tui_store, alice).audit[0].actor == "operator:tester"
        await pilot.press("escape")
        await settle(pilot)
        rows = {r[0]: r for r in table_rows(app, "#user-table")}
        assert rows["alice@example.com"][2] == "● active"


async def test_a_user_deactivated_by_the_idp_turns_inactive_without_a_key_press(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app(refresh_seconds=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_users(pilot)
        rows = {r[0]: r[2] for r in table_rows(app, "#user-table")}
        assert rows["carol@example.com"] == "● active"
        deactivate_user(tui_store, seeded.users["carol@example.com"], "token:Okta SCIM", "IdP")
        await wait_until(
            pilot,
            lambda: (
                {r[0]: r[2] for r in table_rows(app, "#user-table")}["carol@example.com"]
                == "○ inactive"
            ),
        )


async def test_an_action_on_a_user_deleted_meanwhile_is_an_error_notification(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_detail(app, pilot, "dave@example.com")
        with db_session:
            user = tui_store.db.User[seeded.users["dave@example.com"]]
            user.deleted_at, user.user_name_key = tui_store.clock(), None
        await pilot.press("e")
        await pilot.click("#confirm")
        await settle(pilot)
        assert any(
            e.startswith("Not found: Could not end sessions") for e in error_notifications(app)
        )
        assert app.is_running


async def test_names_from_the_idp_are_shown_as_plain_text_never_as_markup(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    from tests.tui.data import make_user

    make_user(tui_store, "[link=http://x]eve[/link]@x.io", "[bold red]Eve[/] Evil")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_detail(app, pilot, "[link=http://x]eve[/link]@x.io")
        summary = str(app.screen.query_one("#user-summary", Static).render())
        assert "[link=http://x]eve[/link]@x.io — [bold red]Eve[/] Evil" in summary
        await pilot.press("escape")
        await settle(pilot)
        table = app.query_one("#user-table", FittedTable)
        shown = [str(cell) for cell in table.get_row_at(0)]
        # clipped to the column, but the brackets are still there: nothing was parsed
        assert shown[0].startswith("[link=http://x]eve[/link]@x")
        assert shown[1].startswith("[bold red]Eve[/]")


async def test_refresh_keeps_the_place_in_a_list_longer_than_one_query_page(
    tui_store: Store, make_app: Callable[..., ControlApp]
) -> None:
    from store.queries.directory import MAX_PAGE

    _many_users(tui_store, MAX_PAGE + 120)
    app = make_app(page_size=300)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_users(pilot)
        panel = app.query_one(UsersPanel)
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        assert len(panel.users) == MAX_PAGE + 120
        await pilot.press("end")
        table = app.query_one("#user-table", FittedTable)
        assert table.current_key == f"u{MAX_PAGE + 119:04d}"
        deactivate_user(tui_store, f"u{MAX_PAGE + 119:04d}", "token:Okta SCIM", "IdP")
        await pilot.press("r")
        await settle(pilot)
        assert len(panel.users) == MAX_PAGE + 120  # read back in two queries, none dropped
        assert table.current_key == f"u{MAX_PAGE + 119:04d}"
        assert panel.users[-1].active is False


async def test_detail_names_the_connection_after_a_transfer(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    transfer_connection(tui_store, "Okta", "Entra ID", users_only=True, actor="operator:tester")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_detail(app, pilot, "carol@example.com")
        summary = str(app.screen.query_one("#user-summary", Static).render())
        assert f"id {seeded.users['carol@example.com']} · connection Entra ID" in summary
        actions = [r[2] for r in table_rows(app, "#user-audit")]
        assert actions[0] == "user.transferred"
