"""Every screen and dialog of the operator console that shows IdP or client text, fed rows
whose every name and logged field holds escape sequences of every kind (CSI, OSC 8, OSC 52,
BEL, 8-bit C1 controls, bidi overrides, zero-width characters, line breaks) at the longest
length its column holds: what Textual writes to the terminal carries no control sequence but
its own, and no line of the screen runs past the terminal's width.

The name rules refuse such names now; rows written before those rules (or by another writer
of the database) may still hold them, so the rows are written straight to the tables.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pony.orm import db_session
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.screen import Screen

from store.context import Store
from store.domain import limits
from tests.hostile import assert_no_unsafe, hostile
from tests.support import FakeClock
from tests.tui.conftest import move_to, press, settle
from tests.tui.data import Seeded, seed
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
        rewritten = (db.Group, db.RoleAssignment, db.GroupRoleMapping, db.ScimToken,
                     db.Connection, db.Session, db.AuditEvent, db.Activity)  # fmt: skip
        empty = [entity.__name__ for entity in rewritten if not entity.select().exists()]
        assert not empty, f"the seed holds no {empty} rows to make hostile"
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


async def _opens(app: ControlApp, pilot: Pilot[None], key: str, kind: type[Screen[Any]]) -> None:
    """``key`` opens a ``kind`` screen, which shows the data escaped and within its width."""
    await press(pilot, key)
    assert isinstance(app.screen, kind)
    assert_safe_screen(app)


async def _help_over(app: ControlApp, pilot: Pilot[None]) -> None:
    """``?`` over the current screen: its help names the screen, escaped; then back."""
    await _opens(app, pilot, "question_mark", HelpScreen)
    await press(pilot, "escape")


@contextlib.asynccontextmanager
async def _panel(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp], tab: str
) -> AsyncIterator[tuple[ControlApp, Pilot[None]]]:
    """The console on hostile rows, showing panel ``tab`` (1, 2 or 3), checked as drawn."""
    seed_hostile_everywhere(tui_store, clock)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, tab)
        assert_safe_screen(app)
        yield app, pilot


async def test_provisioning_panel_its_dialogs_and_help(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    # connections, tokens, health, activity and its summary
    async with _panel(tui_store, clock, make_app, "1") as (app, pilot):
        connections = app.query_one("#connections", FittedTable)
        tokens = [k for k in connections.row_keys if k.startswith("t")]
        connections.move_cursor(row=connections.row_keys.index(tokens[0]))
        connections.focus()
        # revoke: the question names the token and its connection
        await _opens(app, pilot, "x", ConfirmDialog)
        await press(pilot, "escape")

        app.query_one("#activity", FittedTable).focus()
        await _opens(app, pilot, "enter", TextDetailScreen)  # an entry's full text
        await _help_over(app, pilot)


async def test_user_detail_its_dialogs_records_and_help(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    async with _panel(tui_store, clock, make_app, "2") as (app, pilot):  # the user list
        move_to(app, "#user-table", USER_NAME)
        app.query_one("#user-table", FittedTable).focus()
        # summary, hold, groups, roles, sessions note, audit
        await _opens(app, pilot, "enter", UserDetailScreen)
        await _help_over(app, pilot)

        # end all sessions: a confirmation naming the user
        await _opens(app, pilot, "e", ConfirmDialog)
        await press(pilot, "escape")

        await _opens(app, pilot, "d", PromptDialog)  # deactivate: a prompt naming the user
        await press(pilot, "escape")

        app.screen.query_one("#user-audit", FittedTable).focus()
        await _opens(app, pilot, "enter", TextDetailScreen)  # an audit event in full
        await _help_over(app, pilot)


async def test_mapping_panel_and_its_removal_preview(
    tui_store: Store, clock: FakeClock, make_app: Callable[..., ControlApp]
) -> None:
    async with _panel(tui_store, clock, make_app, "3") as (app, pilot):
        table = app.query_one("#mapping-table", FittedTable)
        table.focus()
        await press(pilot, "x")
        assert isinstance(app.screen, MappingDialog)
        await settle(pilot, rounds=4)
        assert_safe_screen(app)  # the row removed, its preview, the groups it matches


async def test_a_failing_dialog_logs_its_title_escaped(
    seeded: Seeded, make_app: Callable[..., ControlApp], caplog: pytest.LogCaptureFixture
) -> None:
    """A dialog whose action fails unexpectedly logs its title, which names a user."""

    def broken(_: str) -> None:
        raise RuntimeError("a defect")

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        title = f"Deactivate — {USER_NAME}"
        app.push_screen(PromptDialog(title, "Why?", submit=broken))
        await press(pilot, *"left", "enter")
        assert "Unexpected error: RuntimeError" in str(app.screen.query_one("#problem").render())
    (record,) = [r for r in caplog.records if r.getMessage().endswith(" failed")]
    assert_no_unsafe(record.getMessage())
    assert record.getMessage().startswith("Deactivate — alice\\x1b[2J")
