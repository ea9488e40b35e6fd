"""The user detail's sessions list shows where each session is used from: the address in the
list, the whole address and User-Agent of the selected session under it, ``unknown`` where
none was ever given, and outside text only through the terminal sanitiser. Pilot against a
real store."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static

from store.context import Store
from store.records import SessionClient
from store.services.sessions import start_session
from tests.tui.conftest import settle, table_rows, wait_until
from tests.tui.data import BROWSER, Seeded
from tests.tui.test_users import _open_detail
from tui.app import ControlApp
from tui.widgets.fitted_table import FittedTable

CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"


def _note(app: ControlApp) -> str:
    return str(app.screen.query_one("#sessions-note", Static).render())


async def test_sessions_list_their_address_and_the_selected_one_its_user_agent(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_detail(app, pilot, "alice@example.com")
        rows = table_rows(app, "#user-sessions")
        assert [(r[0], r[-1]) for r in rows] == [("#2", "203.0.113.7"), ("#1", "unknown")]
        assert _note(app) == f"#2 from 203.0.113.7 · User-Agent: {BROWSER}"
        app.screen.query_one("#user-sessions", FittedTable).focus()
        await pilot.press("down")
        await settle(pilot)
        assert _note(app) == (
            "#1 from unknown (never given by Control's sign-in or a trusted proxy)"
            " · User-Agent: unknown"
        )


async def test_a_hostile_user_agent_is_shown_escaped(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    start_session(
        tui_store, "alice@example.com", "sso", SessionClient("2001:db8::42", f"X {CLIPBOARD}")
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_detail(app, pilot, "alice@example.com")
        table = app.screen.query_one("#user-sessions", FittedTable)
        assert table.row_keys == ["3", "2", "1"]
        assert table_rows(app, "#user-sessions")[0][-1] == "2001:db8::42"
        await wait_until(pilot, lambda: "#3 from" in _note(app))
        note = _note(app)
        assert "User-Agent: X \\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07" in note
        assert "\x1b" not in note and "\x07" not in note
