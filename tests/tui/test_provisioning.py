"""The SCIM Provisioning panel, driven through Pilot against a real store."""

from __future__ import annotations

from collections.abc import Callable

from pony.orm import db_session
from textual.widgets import Input, Static, TextArea

from store.context import Store
from store.queries.tokens import list_tokens
from store.services.tokens import authenticate, issue_token
from tests.support import FakeClock
from tests.tui.conftest import error_notifications, settle, table_rows, wait_until
from tests.tui.data import Seeded
from tui.app import ControlApp
from tui.screens.dialogs import ConfirmDialog, PromptDialog, SecretDialog
from tui.widgets.fitted_table import FittedTable


def _static_text(app: ControlApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _everything_shown(app: ControlApp) -> str:
    """Text of every Static on every screen of the stack, plus the rendered screen."""
    parts = [app.export_screenshot()]
    for screen in app.screen_stack:
        parts += [str(w.render()) for w in screen.query(Static)]
    return "\n".join(parts)


async def test_tokens_show_base_url_last_used_status_and_limit(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert _static_text(app, "#base-url") == "http://127.0.0.1:8080/scim/v2"
        rows = {r[0]: r for r in table_rows(app, "#tokens")}
        assert rows["Okta SCIM"][4:] == ("3 min ago", "● active", "60/min")
        assert rows["Entra ID"][4:] == ("2 h ago", "● active", "60/min")
        assert rows["Okta SCIM"][1].startswith("tscim_")
        assert rows["Okta SCIM"][3] == "operator:tester"
        assert "Worker: running" in _static_text(app, "#health")


async def test_generate_shows_the_secret_once_then_nothing_holds_it(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"JumpCloud")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SecretDialog)
        secret = app.screen.query_one("#secret", TextArea).text
        assert app.screen.query_one("#secret", TextArea).read_only  # selectable, not editable
        assert secret.startswith("tscim_")
        assert "will not be shown again" in _everything_shown(app)
        assert secret in _everything_shown(app)  # the check below can see a secret
        assert authenticate(tui_store, f"Bearer {secret}", "10.1.1.1").ok
        await pilot.press("c")
        assert app.clipboard == secret
        assert "Screenshot" not in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("escape", "q")  # neither Escape nor q loses the token
        await settle(pilot)
        assert isinstance(app.screen, SecretDialog) and app.is_running
        assert "I have stored it" in app.screen.query_one("#done").label.plain  # type: ignore[attr-defined]
        await pilot.press("s")
        await settle(pilot)
        assert not isinstance(app.screen, SecretDialog)
        assert secret not in _everything_shown(app)
        assert app.clipboard == ""
        assert "Screenshot" in {c.title for c in app.get_system_commands(app.screen)}
        rows = {r[0]: r for r in table_rows(app, "#tokens")}
        assert rows["JumpCloud"][1] == secret[:10]
        assert rows["JumpCloud"][5] == "● active"


async def test_a_taken_name_is_refused_inline_keeping_what_was_typed(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a", *"okta scim", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        assert "Conflict: a token named 'okta scim' already exists" in _static_text(app, "#problem")
        assert app.screen.query_one("#answer", Input).value == "okta scim"
        assert not error_notifications(app)
        await pilot.press(*" 2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SecretDialog)
        assert "okta scim 2" in [t.name for t in list_tokens(tui_store)]


async def test_generate_refuses_an_empty_name(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a", "space", "enter")
        assert isinstance(app.screen, PromptDialog)
        assert "Enter a name" in _static_text(app, "#problem")
        await pilot.press("escape")
        await settle(pilot)
        assert len(list_tokens(tui_store)) == 2


async def test_revoke_asks_naming_the_token_and_cancel_keeps_it(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.query_one("#tokens", FittedTable)
        assert table.cells_of(table.current_key or "")[0] == "Okta SCIM"  # type: ignore[index]
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Revoke token “Okta SCIM”" in app.screen.question
        await pilot.press("escape")
        await settle(pilot)
        assert [t.status for t in list_tokens(tui_store)] == ["active", "active"]
        await pilot.press("x")
        await pilot.click("#confirm")
        await settle(pilot)
        statuses = {t.name: t.status for t in list_tokens(tui_store)}
        assert statuses == {"Okta SCIM": "revoked", "Entra ID": "active"}
        assert {r[0]: r[5] for r in table_rows(app, "#tokens")}["Okta SCIM"] == "✕ revoked"
        assert not authenticate(tui_store, f"Bearer {seeded.secrets['Okta SCIM']}", "x").ok


async def test_activity_lists_errors_first_with_the_exact_filter(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        rows = table_rows(app, "#activity")
        assert [r[4] for r in rows] == [
            "400 Bad Request",
            "204 No Content",
            "201 Created",
            "200 OK",
        ]
        assert rows[0][1:4] == ("Okta SCIM", "GET", "/scim/v2/Users")
        assert rows[0][5] == "10.0.0.8"
        detail = _static_text(app, "#activity-detail")
        assert "invalidFilter: filter attribute 'nickName' is not supported" in detail
        app.query_one("#activity", FittedTable).focus()
        await pilot.press("down")
        assert "PATCH /scim/v2/Groups/0000000a" in _static_text(app, "#activity-detail")


async def test_copy_base_url(seeded: Seeded, make_app: Callable[..., ControlApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        assert app.clipboard == "http://127.0.0.1:8080/scim/v2"


async def test_panel_refreshes_by_itself(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store, clock: FakeClock
) -> None:
    app = make_app(refresh_seconds=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        issue_token(tui_store, "Second Okta", "operator:other")
        clock.advance(minutes=2)
        authenticate(tui_store, f"Bearer {seeded.secrets['Entra ID']}", "10.0.0.9")
        await wait_until(pilot, lambda: "Second Okta" in [r[0] for r in table_rows(app, "#tokens")])
        await wait_until(
            pilot,
            lambda: {r[0]: r[4] for r in table_rows(app, "#tokens")}["Entra ID"] == "just now",
        )


async def test_stale_token_warns_that_the_idp_is_not_pushing(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    with db_session:
        token = tui_store.db.ScimToken.get(name="Entra ID")
        token.stale_since = token.last_used
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert {r[0]: r[5] for r in table_rows(app, "#tokens")}["Entra ID"] == "! stale"
        assert "Entra ID: no requests since 2 h ago; your IdP is not pushing" in _static_text(
            app, "#health"
        )


async def test_database_fault_is_a_notification_not_a_traceback(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        with db_session:
            tui_store.db.execute("ALTER TABLE scim_token RENAME TO scim_token_away")
        try:
            await pilot.press("r")
            await settle(pilot)
            assert any(
                e.startswith("Unavailable: Could not load SCIM provisioning")
                for e in error_notifications(app)
            )
            assert app.is_running
            assert [r[0] for r in table_rows(app, "#tokens")] == ["Okta SCIM", "Entra ID"]
        finally:
            with db_session:
                tui_store.db.execute("ALTER TABLE scim_token_away RENAME TO scim_token")
