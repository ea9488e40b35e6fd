"""The SCIM Provisioning panel, driven through Pilot against a real store: IdP connections with
their tokens beneath them, creating a connection, generating a token for one, rotating
without downtime, revoking, and the activity with the connection of each request."""

from __future__ import annotations

from collections.abc import Callable

from pony.orm import db_session
from textual.widgets import Input, Select, Static, TextArea

from store.context import Store
from store.queries.tokens import list_tokens
from store.services.connections import list_connections, set_connection_domains
from store.services.tokens import authenticate, issue_token
from tests.support import FakeClock
from tests.tui.conftest import (
    error_notifications,
    move_to,
    notifications,
    press,
    settle,
    table_rows,
    wait_until,
)
from tests.tui.data import Seeded
from tui.app import ControlApp
from tui.screens.dialogs import ConfirmDialog, PromptDialog, SecretDialog
from tui.screens.provisioning import NEW_CONNECTION
from tui.widgets.fitted_table import FittedTable


def _static_text(app: ControlApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _everything_shown(app: ControlApp) -> str:
    """Text of every Static on every screen of the stack, plus the rendered screen."""
    parts = [app.export_screenshot()]
    for screen in app.screen_stack:
        parts += [str(w.render()) for w in screen.query(Static)]
    return "\n".join(parts)


def _rows(app: ControlApp) -> dict[str, tuple[str, ...]]:
    return {r[0]: r for r in table_rows(app, "#connections")}


def _names(app: ControlApp) -> list[str]:
    return [r[0] for r in table_rows(app, "#connections")]


async def test_connections_list_their_tokens_counts_last_used_and_status(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert _static_text(app, "#base-url") == "http://127.0.0.1:8080/scim/v2"
        assert _names(app) == ["Entra ID", "└ Entra ID", "Okta", "└ Okta SCIM"]
        rows = _rows(app)
        assert rows["Okta"][1:] == ("okta", "5", "3", "3 min ago", "● active", "")
        assert rows["Entra ID"][1:] == ("entra", "0", "0", "2 h ago", "● active", "")
        assert rows["└ Okta SCIM"][2:] == ("", "", "3 min ago", "● active", "60/min")
        assert rows["└ Okta SCIM"][1] == seeded.secrets["Okta SCIM"][:10]
        assert rows["└ Entra ID"][4:] == ("2 h ago", "● active", "60/min")
        assert "Worker: running" in _static_text(app, "#health")


async def test_generate_for_a_new_connection_shows_the_secret_once_then_nothing_holds_it(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, PromptDialog)
        assert app.screen.choice == "Entra ID"  # the highlighted row's connection
        app.screen.query_one("#choice", Select).value = NEW_CONNECTION
        await pilot.press(*"JumpCloud")
        await press(pilot, "enter")
        assert isinstance(app.screen, SecretDialog)
        secret = app.screen.query_one("#secret", TextArea).text
        assert app.screen.query_one("#secret", TextArea).read_only  # selectable, not editable
        assert secret.startswith("tscim_")
        assert "For connection “JumpCloud”." in _static_text(app, "#secret-note")
        assert "will not be shown again" in _everything_shown(app)
        assert secret in _everything_shown(app)  # the check below can see a secret
        assert authenticate(tui_store, f"Bearer {secret}", "10.1.1.1").ok
        await pilot.press("c")
        assert app.clipboard == secret
        assert "Screenshot" not in {c.title for c in app.get_system_commands(app.screen)}
        await press(pilot, "escape", "q")  # neither Escape nor q loses the token
        assert isinstance(app.screen, SecretDialog) and app.is_running
        assert "I have stored it" in app.screen.query_one("#done").label.plain  # type: ignore[attr-defined]
        await press(pilot, "s")
        assert not isinstance(app.screen, SecretDialog)
        assert secret not in _everything_shown(app)
        assert app.clipboard == ""
        assert "Screenshot" in {c.title for c in app.get_system_commands(app.screen)}
        rows = _rows(app)
        assert rows["JumpCloud"][1:6] == ("-", "0", "0", "just now", "● active")
        assert rows["└ JumpCloud"][1] == secret[:10]
        assert _names(app).index("└ JumpCloud") == _names(app).index("JumpCloud") + 1
        table = app.query_one("#connections", FittedTable)
        assert table.cells_of(table.current_key or "")[0] == "└ JumpCloud"  # type: ignore[index]


async def test_generate_for_the_selected_connection(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        move_to(app, "#connections", "└ Okta SCIM")
        await press(pilot, "a", *"Okta 2026", "enter")
        assert isinstance(app.screen, SecretDialog)
        assert "For connection “Okta”." in _static_text(app, "#secret-note")
        await press(pilot, "s")
        names = _names(app)
        assert names[names.index("Okta") :] == ["Okta", "└ Okta SCIM", "└ Okta 2026"]
        assert {t.name: t.connection for t in list_tokens(tui_store)}["Okta 2026"] == "Okta"


async def test_a_taken_name_is_refused_inline_keeping_what_was_typed(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "a", *"okta scim", "enter")
        assert isinstance(app.screen, PromptDialog)
        assert "Conflict: a token named 'okta scim' already exists" in _static_text(app, "#problem")
        assert app.screen.query_one("#answer", Input).value == "okta scim"
        assert not error_notifications(app)
        await press(pilot, *" 2", "enter")
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
        await press(pilot, "escape")
        assert len(list_tokens(tui_store)) == 2


async def test_new_connection_with_a_kind_then_a_taken_name_is_refused_inline(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#choice", Select).value = "jumpcloud"
        await press(pilot, *"JumpCloud", "enter")
        assert not isinstance(app.screen, PromptDialog)
        assert "Connection “JumpCloud” created. Press a to issue its token." in notifications(app)
        assert _rows(app)["JumpCloud"][1:] == ("jumpcloud", "0", "0", "never", "◌ no tokens", "")
        table = app.query_one("#connections", FittedTable)
        assert table.cells_of(table.current_key or "")[0] == "JumpCloud"  # type: ignore[index]

        await press(pilot, "n", *"OKTA", "enter")
        assert isinstance(app.screen, PromptDialog)
        assert "a connection named 'Okta' already exists" in _static_text(app, "#problem")
        assert app.screen.query_one("#answer", Input).value == "OKTA"
        await press(pilot, "escape")
        assert [c.name for c in list_connections(tui_store)] == ["Entra ID", "JumpCloud", "Okta"]


async def test_rotate_shows_the_new_token_once_and_keeps_the_old_one_until_revoked(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    old_secret = seeded.secrets["Okta SCIM"]
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        move_to(app, "#connections", "└ Okta SCIM")
        await pilot.press("o")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Rotate “Okta SCIM” of connection “Okta”?" in app.screen.question
        await press(pilot, "escape")
        assert len(list_tokens(tui_store)) == 2  # cancelled: nothing issued

        await press(pilot, "o", "y")
        assert isinstance(app.screen, SecretDialog)
        new_secret = app.screen.query_one("#secret", TextArea).text
        note = _static_text(app, "#secret-note")
        assert "For connection “Okta”." in note and "“Okta SCIM” keeps working" in note
        assert authenticate(tui_store, f"Bearer {new_secret}", "10.1.1.1").ok
        assert authenticate(tui_store, f"Bearer {old_secret}", "10.1.1.1").ok  # no downtime
        await press(pilot, "s")
        assert any("select “Okta SCIM” and press x" in n for n in notifications(app))
        names = _names(app)
        assert names[names.index("Okta") :] == ["Okta", "└ Okta SCIM", "└ Okta-2"]
        assert _rows(app)["└ Okta-2"][5] == "● active"
        assert _rows(app)["└ Okta SCIM"][5] == "● active"

        move_to(app, "#connections", "└ Okta SCIM")
        await press(pilot, "x", "y")
        assert authenticate(tui_store, f"Bearer {old_secret}", "10.1.1.1").reason == "revoked"
        assert authenticate(tui_store, f"Bearer {new_secret}", "10.1.1.1").ok
        assert _rows(app)["└ Okta SCIM"][5] == "✕ revoked"


async def test_rotate_on_a_connection_row_rotates_its_token(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        move_to(app, "#connections", "Entra ID")
        await pilot.press("o")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Rotate “Entra ID” of connection “Entra ID”?" in app.screen.question
        await press(pilot, "y")
        assert isinstance(app.screen, SecretDialog)
        await press(pilot, "s")
        assert {t.name: t.connection for t in list_tokens(tui_store)}["Entra ID-2"] == "Entra ID"

        await press(pilot, "n", *"Ping", "enter")  # a connection without a token
        await pilot.press("o")
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("“Ping” has no active token to rotate" in n for n in notifications(app))


async def test_revoke_asks_naming_the_token_and_cancel_keeps_it(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        move_to(app, "#connections", "Okta")
        await pilot.press("x")  # a connection row: nothing to revoke there
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("tokens beneath “Okta”" in n for n in notifications(app))
        move_to(app, "#connections", "└ Okta SCIM")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Revoke token “Okta SCIM”" in app.screen.question
        assert "of connection “Okta”" in app.screen.question
        await press(pilot, "escape")
        assert [t.status for t in list_tokens(tui_store)] == ["active", "active"]
        await pilot.press("x")
        await pilot.click("#confirm")
        await settle(pilot)
        statuses = {t.name: t.status for t in list_tokens(tui_store)}
        assert statuses == {"Okta SCIM": "revoked", "Entra ID": "active"}
        assert _rows(app)["└ Okta SCIM"][5] == "✕ revoked"
        assert not authenticate(tui_store, f"Bearer {seeded.secrets['Okta SCIM']}", "x").ok


async def test_activity_lists_errors_first_with_the_connection_and_the_exact_filter(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        rows = table_rows(app, "#activity")
        assert [r[5] for r in rows] == [
            "400 Bad Request",
            "204 No Content",
            "201 Created",
            "200 OK",
        ]
        assert rows[0][1:5] == ("Okta", "Okta SCIM", "GET", "/scim/v2/Users")
        assert rows[0][6] == "10.0.0.8"
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
        issue_token(tui_store, "Second Okta", "operator:other", connection="Okta")
        clock.advance(minutes=2)
        authenticate(tui_store, f"Bearer {seeded.secrets['Entra ID']}", "10.0.0.9")
        await wait_until(pilot, lambda: _names(app)[-1] == "└ Second Okta")
        await wait_until(pilot, lambda: _rows(app)["└ Entra ID"][4] == "just now")
        assert _rows(app)["Entra ID"][4] == "just now"  # the connection's Last Used follows


async def test_stale_connection_and_stale_token_are_told_apart(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store, clock: FakeClock
) -> None:
    issue_token(tui_store, "Okta old", "operator:tester", connection="Okta")
    clock.advance(hours=30)
    authenticate(tui_store, f"Bearer {seeded.secrets['Okta SCIM']}", "10.0.0.8")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rows = _rows(app)
        assert rows["Entra ID"][5] == "! stale" and rows["└ Entra ID"][5] == "! stale"
        assert rows["Okta"][5] == "● active" and rows["└ Okta SCIM"][5] == "● active"
        assert rows["└ Okta old"][4:6] == ("never", "! stale")
        health = _static_text(app, "#health")
        assert "! Entra ID: no requests since 1 d ago; your IdP is not pushing" in health
        assert "! token Okta old of Okta not used since it was created 1 d ago" in health
        assert "revoke it (x)" in health
        assert "token Entra ID of" not in health  # the connection's line says it


async def test_database_fault_is_a_notification_not_a_traceback(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        with db_session:
            tui_store.db.execute("ALTER TABLE scim_token RENAME TO scim_token_away")
        try:
            await press(pilot, "r")
            assert any(
                e.startswith("Unavailable: Could not load SCIM provisioning")
                for e in error_notifications(app)
            )
            assert app.is_running
            assert _names(app) == ["Entra ID", "└ Entra ID", "Okta", "└ Okta SCIM"]
        finally:
            with db_session:
                tui_store.db.execute("ALTER TABLE scim_token_away RENAME TO scim_token")


async def test_a_rotation_whose_name_would_be_too_long_is_one_readable_error(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    """A connection an upgrade named after a long 0.1.0 token name: ``<name>-2`` would be
    longer than a token name may be. The operator reads why and what to do; nothing is
    issued."""
    from store.domain.names import fold

    long = "L" * 127
    with db_session:
        row = tui_store.db.Connection.get(name_key=fold("Entra ID"))
        row.name, row.name_key = long, fold(long)
    before = list_tokens(tui_store)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        move_to(app, "#connections", "└ Entra ID")
        await pilot.press("o", "y")
        await settle(pilot)
        await wait_until(pilot, lambda: bool(error_notifications(app)))
        assert not isinstance(app.screen, SecretDialog)
        (error,) = error_notifications(app)
        assert "named after its connection" in error and "rename the connection" in error, error
        assert "Unexpected error" not in error and long not in error
    assert list_tokens(tui_store) == before


async def test_a_connection_limited_to_domains_says_so_and_one_without_says_nothing(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    set_connection_domains(tui_store, "Okta", "example.com,*.corp.example", "operator:tester")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        health = _static_text(app, "#health")
        assert (
            "Okta: its IdP may only create or rename users in @*.corp.example, @example.com"
            in health
        )
        assert "Entra ID:" not in health
