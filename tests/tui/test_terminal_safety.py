"""No control sequence from IdP or client data reaches the operator's terminal.

A user's displayName carrying OSC 52 (set the clipboard), OSC 0 (set the window title) and
SGR (colours), a group name and request-log fields carrying the same: the test renders the
whole screen to the exact character stream Textual would write to the terminal, and checks
that every ESC in it starts one of Textual's own CSI sequences, that no OSC, BEL, C1 or
bidi control is there, and that the data's own SGR sequence is not; the escaped text is
what the operator sees instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from pony.orm import db_session
from textual.pilot import Pilot

from store.context import Store
from store.records import ActivityInput
from store.services.activity import record_activity
from tests.support import FakeClock
from tests.tui.conftest import settle
from tests.tui.data import make_group, make_user, seed
from tui.app import ControlApp
from tui.screens.user_detail import UserDetailScreen
from tui.widgets.fitted_table import FittedTable

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
OSC0 = "\x1b]0;pwned\x1b\\"
DATA_SGR = "\x1b[7;38;2;1;2;3m"
C1 = "\x9d0;c1-title\x9c"
HOSTILE = f"Mallory{OSC52}{OSC0}{DATA_SGR}{C1}\u202e inactive"
TEXTUAL_CSI = re.compile(r"\x1b\[[0-9;:?<>=]*[ -/]*[@-~]")


def terminal_stream(app: ControlApp) -> str:
    """Exactly what Textual writes to the terminal to draw the current screen."""
    update = app.screen._compositor.render_full_update()
    return update.render_segments(app.console)


def assert_inert(stream: str) -> None:
    assert DATA_SGR not in stream
    rest = TEXTUAL_CSI.sub("", stream)
    assert "\x1b" not in rest, "an ESC outside Textual's own CSI sequences reached the terminal"
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", rest)


def seed_hostile(store: Store, clock: FakeClock) -> None:
    """The store refuses such names now; rows written before that rule (or by another
    writer of the database) may still hold them, so they are written straight to the rows."""
    seed(store, clock)
    mallory = make_user(store, "mallory@example.com", "Mallory")
    group_id = make_group(store, "Ops", [mallory])
    with db_session:
        store.db.User[mallory].display_name = HOSTILE
        store.db.Group[group_id].display_name = f"Ops{OSC0}"
        store.db.User[mallory].connection.name = f"Okta{OSC52}"
    record_activity(
        store,
        [
            ActivityInput(
                at=clock.now + timedelta(seconds=1),
                method="GET",
                path=f"/scim/v2/Users{OSC52}",
                status=400,
                latency_ms=3.0,
                token_name=f"tok{DATA_SGR}",
                query=f"filter=x{OSC0}",
                scim_type="invalidFilter",
                detail=f"bad {OSC52}",
                user_agent=f"UA{C1}",
                connection=f"conn{OSC0}",
            )
        ],
    )


async def test_users_list_detail_and_activity_emit_no_control_sequence_from_data(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    seed_hostile(tui_store, clock)
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        activity = app.query_one("#activity", FittedTable)
        error_row = next(
            k for k in activity.row_keys if "400 Bad Request" in (activity.cells_of(k) or ())
        )
        activity.move_cursor(row=activity.row_keys.index(error_row))
        await settle(pilot)
        stream = terminal_stream(app)
        assert_inert(stream)
        assert "\\x1b]52;c;" in stream  # the request path and detail, shown escaped
        assert "Okta\\x1b]52;c;" in stream  # the connection's name in its row

        activity.focus()
        await pilot.press("enter")  # the entry's full text
        await settle(pilot)
        stream = terminal_stream(app)
        assert_inert(stream)
        assert "\\x1b]0;pwned" in stream  # the filter, shown escaped
        assert "Connection: conn\\x1b]0;pwned" in stream  # as the request log recorded it
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("2")
        await settle(pilot)
        stream = terminal_stream(app)
        assert_inert(stream)
        assert "Mallory\\x1b]52;c;" in stream

        await _open(app, pilot, "mallory@example.com")
        stream = terminal_stream(app)
        assert_inert(stream)
        assert "\\x1b]0;pwned" in stream and "\\u202e inactive" in stream
        assert "Ops\\x1b]0;pwned" in stream  # the group name
        assert "connection Okta\\x1b]52;c;" in stream  # the owning connection


async def _open(app: ControlApp, pilot: Pilot[None], user_name: str) -> None:
    table = app.query_one("#user-table", FittedTable)
    keys = [k for k in table.row_keys if (table.cells_of(k) or ("",))[0] == user_name]
    table.move_cursor(row=table.row_keys.index(keys[0]))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, UserDetailScreen)


async def test_notifications_and_markup_from_data_are_plain(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.notify(f"[bold red]{OSC52}[/] done", title=f"t{OSC0}")
        await pilot.pause()
        (note,) = list(app._notifications)
        assert note.message == "[bold red]\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\\x07[/] done"
        assert note.title == "t\\x1b]0;pwned\\x1b\\" and note.markup is False
        assert_inert(terminal_stream(app))
