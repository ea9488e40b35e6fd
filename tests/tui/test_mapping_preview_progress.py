"""The mapping dialog's preview of a large group shows its progress (n of N members compared)
while it is computed in a worker, keeps Save disabled and Save and Cancel on screen meanwhile,
stops when the operator types on or closes the dialog, and shows the counts when done. Pilot
against a real store holding a 20,000-member group."""

from __future__ import annotations

from collections.abc import Callable

from pony.orm import db_session
from textual.message import Message
from textual.widgets import Button, Select, Static

from store.context import Store
from store.domain.names import fold, group_key
from store.queries.identity import list_mappings
from store.services.connections import default_connection
from store.sql import connection
from tests.tui.conftest import settle, wait_until
from tests.tui.data import Seeded
from tests.tui.test_mappings import _open_mappings, _visible
from tui.app import ControlApp
from tui.messages import MappingPreviewed, MappingPreviewProgress
from tui.screens.mapping_dialog import MappingDialog
from tui.widgets.progress_line import ProgressLine

MEMBERS = 20_000
GROUP = "All Staff"


def _large_group(store: Store, members: int = MEMBERS) -> None:
    """A group of ``members`` active users, written as rows in one transaction of the store's
    database (through the SCIM services, 20,000 users and their memberships take minutes)."""
    now = "2026-01-05 09:00:00"
    users = [(f"s{i:05d}", f"staff{i:05d}@example.com") for i in range(members)]
    with db_session:
        owner = int(default_connection(store, "operator:test").id)  # what operators seed
        cursor = connection(store.db).cursor()
        cursor.execute(
            'INSERT INTO "scim_group" ("id", "display_name", "display_name_key", "document", '
            '"created", "last_modified", "version", "member_count", "connection_id") '
            "VALUES (?, ?, ?, '{}', ?, ?, 1, ?, ?)",
            ("g-all-staff", GROUP, group_key(GROUP), now, now, members, owner),
        )
        cursor.executemany(
            'INSERT INTO "scim_user" ("id", "user_name", "user_name_key", "active", "document", '
            '"created", "last_modified", "version", "connection_id") '
            "VALUES (?, ?, ?, 1, '{}', ?, ?, 1, ?)",
            [(user_id, name, fold(name), now, now, owner) for user_id, name in users],
        )
        cursor.executemany(
            'INSERT INTO "scim_membership" ("group", "user", "created") VALUES (?, ?, ?)',
            [("g-all-staff", user_id, now) for user_id, _ in users],
        )


class Seen:
    """What the dialog showed each time a preview message reached it (before handling it, so
    the state is the one the previous messages left): progress shown, Save disabled."""

    def __init__(self, app: ControlApp) -> None:
        self.app = app
        self.states: list[tuple[int | None, int | None, bool, bool]] = []
        self.progress: list[MappingPreviewProgress] = []
        self.previewed: list[MappingPreviewed] = []

    def __call__(self, message: Message) -> None:
        if not isinstance(message, MappingPreviewProgress | MappingPreviewed):
            return
        if any(m is message for m in [*self.progress, *self.previewed]):
            return  # the same message bubbling up to the app
        dialog = self.app.screen
        if isinstance(message, MappingPreviewProgress):
            self.progress.append(message)
        else:
            self.previewed.append(message)
        if isinstance(dialog, MappingDialog):
            line = dialog.query_one("#preview-progress", ProgressLine)
            save = dialog.query_one("#save", Button).disabled
            self.states.append((line.done, line.total, bool(line.display), save))


def _line(dialog: MappingDialog) -> ProgressLine:
    return dialog.query_one("#preview-progress", ProgressLine)


async def _start_preview(app: ControlApp, pilot: object, role: str = "admin") -> MappingDialog:
    await _open_mappings(pilot)
    await pilot.press("a", *GROUP)  # type: ignore[attr-defined]
    dialog = app.screen
    assert isinstance(dialog, MappingDialog)
    dialog.query_one("#role", Select).value = role
    return dialog


async def test_a_large_group_preview_shows_progress_before_it_completes(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    _large_group(tui_store)
    app = make_app()
    seen = Seen(app)
    async with app.run_test(size=(80, 24), message_hook=seen) as pilot:
        dialog = await _start_preview(app, pilot)
        line = _line(dialog)
        # While it computes: n of N shown, Save disabled, Save and Cancel on screen.
        await wait_until(pilot, lambda: line.display and 0 < (line.done or 0) < MEMBERS, 60)
        text = str(line.render())
        assert f" of {MEMBERS:,} active member(s) compared · " in text, text
        assert dialog.query_one("#save", Button).disabled
        # The progress line's own visibility part-way is asserted from the recorded
        # messages below; polling it here would race the preview's last batch.
        for widget in ("#save", "#cancel"):
            assert _visible(app, widget), widget
        await wait_until(pilot, lambda: not dialog.query_one("#save", Button).disabled, 60)
        await settle(pilot)
        summary = str(dialog.query_one("#preview-summary", Static).render())
        assert f"{MEMBERS:,} role gain(s), 0 role loss(es) for {MEMBERS:,} user(s)" in summary
        assert not line.display  # done: the counts replace the progress
        for widget in ("#save", "#cancel"):
            assert _visible(app, widget), widget

    # Before the preview was shown, the dialog had shown progress part-way, growing, with
    # Save disabled: recorded as each message arrived, independent of polling.
    partial = [s for s in seen.states if s[2] and s[0] is not None and s[0] < MEMBERS]
    assert partial and all(s[1] == MEMBERS and s[3] for s in partial)
    assert [s[0] for s in partial] == sorted(s[0] for s in partial)
    assert [m.done for m in seen.progress] == list(range(0, MEMBERS + 1, 500))
    assert len(seen.previewed) == 1 and len(seen.previewed[0].changes) == MEMBERS


async def test_typing_on_stops_the_preview_being_computed(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    _large_group(tui_store)
    app = make_app()
    seen = Seen(app)
    async with app.run_test(size=(80, 24), message_hook=seen) as pilot:
        dialog = await _start_preview(app, pilot, "admin")
        line = _line(dialog)
        await wait_until(pilot, lambda: 0 < (line.done or 0) < MEMBERS, 60)
        dialog.query_one("#role", Select).value = "viewer"  # the operator changes their mind
        await wait_until(pilot, lambda: not dialog.query_one("#save", Button).disabled, 60)
        await settle(pilot)
        assert dialog.previewed == (GROUP, "viewer", None)
    stopped = [m.done for m in seen.progress if m.request == (GROUP, "admin", None)]
    assert stopped and max(stopped) < MEMBERS  # the first preview never ran to its end
    assert [m.request for m in seen.previewed] == [(GROUP, "viewer", None)]


async def test_cancel_closes_the_dialog_while_the_preview_is_computed(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    _large_group(tui_store)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await _start_preview(app, pilot)
        line = _line(dialog)
        await wait_until(pilot, lambda: 0 < (line.done or 0) < MEMBERS, 60)
        await pilot.press("escape")
        assert not isinstance(app.screen, MappingDialog)  # at once, not after the preview
        assert line.done is not None and line.done < MEMBERS
        await settle(pilot)
    assert [(m.group_name, m.role) for m in list_mappings(tui_store)] == [
        ("Engineering", "operator"),
        ("Viewers", "viewer"),
    ]
