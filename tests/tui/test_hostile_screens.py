"""Every screen and dialog of the operator console that shows IdP or client text, fed rows
whose every name and logged field holds escape sequences of every kind (CSI, OSC 8, OSC 52,
BEL, 8-bit C1 controls, bidi overrides, zero-width characters, line breaks) at the longest
length its column holds: what Textual writes to the terminal carries no control sequence but
its own, and no line of the screen runs past the terminal's width.

The name rules refuse such names now; rows written before those rules (or by another writer
of the database) may still hold them, so the rows are written straight to the tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pony.orm import db_session
from rich.cells import cell_len
from textual.pilot import Pilot

from store.context import Store
from store.domain import limits
from tests.hostile import assert_no_unsafe, hostile
from tests.support import FakeClock
from tests.tui.conftest import move_to, settle
from tests.tui.data import seed
from tests.tui.test_terminal_safety import TEXTUAL_CSI, terminal_stream
from tui.app import ControlApp
from tui.screens.dialogs import ConfirmDialog, PromptDialog
from tui.screens.help import HelpScreen
from tui.screens.mapping_dialog import MappingDialog
from tui.screens.text_detail import TextDetailScreen
from tui.screens.user_detail import UserDetailScreen
from tui.widgets.fitted_table import FittedTable

SIZE = (120, 40)
USER_NAME = hostile("alice", limits.USER_NAME)
CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")


def seed_hostile_everywhere(store: Store, clock: FakeClock) -> None:
    seed(store, clock)
    with db_session:
        db = store.db
        alice = db.User.get(user_name="alice@example.com")
        alice.user_name = USER_NAME
        alice.display_name = hostile("Alice", limits.DISPLAY_NAME)
        alice.held_at, alice.idp_active = clock.now, True
        alice.held_by = hostile("operator:", limits.ACTOR)
        alice.hold_reason = hostile("why", limits.HOLD_REASON)
        for group in db.Group.select():
            group.display_name = hostile(group.display_name, limits.DISPLAY_NAME)
        for assignment in db.RoleAssignment.select():
            assignment.granted_by = hostile("operator:", limits.ACTOR)
            if assignment.via_group:
                assignment.via_group = hostile(assignment.via_group, limits.DISPLAY_NAME)
        for mapping in db.GroupRoleMapping.select():
            mapping.group_name = hostile(mapping.group_name, limits.DISPLAY_NAME)
            mapping.created_by = hostile("operator:", limits.ACTOR)
        for token in db.ScimToken.select():
            token.name = hostile(token.name, limits.TOKEN_NAME)
        for connection in db.Connection.select():
            connection.name = hostile(connection.name, limits.TOKEN_NAME)
        for session in db.Session.select():
            session.user_agent = hostile("Firefox", limits.USER_AGENT)
        for event in db.AuditEvent.select():
            event.actor = hostile("operator:", limits.ACTOR)
            event.detail = hostile("detail", limits.DETAIL)
        for entry in db.Activity.select():
            entry.path = hostile(entry.path, limits.REQUEST_PATH)
            entry.query = hostile("filter=", limits.REQUEST_QUERY)
            entry.detail = hostile("bad", limits.DETAIL)
            entry.user_agent = hostile("curl", limits.USER_AGENT)
            entry.token_name = hostile("tok", limits.TOKEN_NAME)
            entry.connection = hostile("conn", limits.TOKEN_NAME)


def assert_safe_screen(app: ControlApp, escaped: bool = True) -> None:
    """No control sequence from data on the screen, the data shown escaped, every line of
    the screen within its width."""
    stream = terminal_stream(app)
    visible = TEXTUAL_CSI.sub("", stream)
    assert "\x1b" not in visible, f"an ESC from data reached the terminal on {app.screen}"
    assert_no_unsafe(visible.replace("\r", "").replace("\n", ""))
    if escaped:
        assert "\\x1b[" in visible, f"no escaped data on {app.screen}"
    for line in CURSOR_MOVE.split(stream):
        assert cell_len(TEXTUAL_CSI.sub("", line).rstrip("\r\n")) <= SIZE[0]


async def _help_over(app: ControlApp, pilot: Pilot[None]) -> None:
    """``?`` over the current screen: its help names the screen, escaped; then back."""
    await pilot.press("question_mark")
    await settle(pilot)
    assert isinstance(app.screen, HelpScreen)
    assert_safe_screen(app)
    await pilot.press("escape")
    await settle(pilot)


async def test_provisioning_panel_its_dialogs_and_help(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    seed_hostile_everywhere(tui_store, clock)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert_safe_screen(app)  # connections, tokens, health, activity and its summary

        connections = app.query_one("#connections", FittedTable)
        tokens = [k for k in connections.row_keys if k.startswith("t")]
        connections.move_cursor(row=connections.row_keys.index(tokens[0]))
        connections.focus()
        await pilot.press("x")  # revoke: the question names the token and its connection
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert_safe_screen(app)
        await pilot.press("escape")
        await settle(pilot)

        app.query_one("#activity", FittedTable).focus()
        await pilot.press("enter")  # an entry's full text
        await settle(pilot)
        assert isinstance(app.screen, TextDetailScreen)
        assert_safe_screen(app)
        await _help_over(app, pilot)


async def test_user_detail_its_dialogs_records_and_help(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    seed_hostile_everywhere(tui_store, clock)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert_safe_screen(app)  # the user list
        move_to(app, "#user-table", USER_NAME)
        app.query_one("#user-table", FittedTable).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        assert_safe_screen(app)  # summary, hold, groups, roles, sessions note, audit
        await _help_over(app, pilot)

        await pilot.press("e")  # end all sessions: a confirmation naming the user
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert_safe_screen(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("d")  # deactivate: a prompt naming the user
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        assert_safe_screen(app)
        await pilot.press("escape")
        await settle(pilot)

        app.screen.query_one("#user-audit", FittedTable).focus()
        await pilot.press("enter")  # an audit event in full
        await settle(pilot)
        assert isinstance(app.screen, TextDetailScreen)
        assert_safe_screen(app)
        await _help_over(app, pilot)


async def test_mapping_panel_and_its_removal_preview(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    seed_hostile_everywhere(tui_store, clock)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert_safe_screen(app)
        table = app.query_one("#mapping-table", FittedTable)
        table.focus()
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, MappingDialog)
        await settle(pilot, rounds=4)
        assert_safe_screen(app)  # the row removed, its preview, the groups it matches
