"""The dialog that adds or removes one SSO group-to-role mapping row, showing beforehand who
would gain or lose which role, and which connection's groups the row matches (a row names
one IdP connection, or matches the group name in any connection).

The preview is ``store.services.roles.preview_mapping_change`` run in a thread worker each
time the group or role settles, with a loading indicator, the group's size and a progress
line (``tui.widgets.progress_line``: n of N members compared) while it runs; typing on or
closing the dialog stops it at its next step. Save stays disabled until the preview shown
matches what would be saved. A group name no IdP has pushed is warned about, with the
closest known names offered. Save and Cancel stay visible whatever the preview holds. The
dialog only answers ``(group, role, connection or None)``: the mappings panel applies it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Select, Static

from store.domain.display import safe_text
from store.domain.names import closest_names, group_key
from store.queries.groups import group_sizes, groups_named
from store.services.roles import MappingEdit, preview_mapping_change
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import matches_text, shown
from tui.messages import GroupsKnown, MappingPreviewed, MappingPreviewProgress
from tui.widgets.fitted_table import ColumnSpec, FittedTable
from tui.widgets.progress_line import ProgressLine, WorkStopped, progress_reporter

PREVIEW_COLUMNS = (
    ColumnSpec("user", "userName", 20, 3),
    ColumnSpec("role", "Role", 10, 1),
    ColumnSpec("effect", "Effect", 6, 0, (("gains", "bold"), ("loses", "bold reverse"))),
)
PREVIEW_ROWS = 500
"""Rows of the preview listed at most (the counts above the list are always complete)."""
ANY = "\0any"
"""The connection choice "any connection" (no connection name holds NUL)."""
MappingRow = tuple[str, str, str | None]
"""(IdP group name, role, connection name or None for any connection)."""


class MappingDialog(ModalScreen[MappingRow | None]):
    """Add (editable group and role) or remove (fixed row) one mapping, with a preview."""

    CSS_PATH = ["dialogs.tcss", "mapping_dialog.tcss"]
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+g", "use_suggestion", "Use suggestion"),
    ]

    def __init__(
        self,
        ctx: TuiContext,
        roles: Sequence[str],
        removal: MappingRow | None = None,
        connections: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.roles = tuple(roles)
        self.removal = removal
        self.connections = tuple(connections)
        self.previewed: MappingRow | None = None
        self.known: dict[str, int] | None = None  # group display name -> members
        self.suggestions: list[str] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        title = "Remove group-to-role mapping" if self.removal else "Add group-to-role mapping"
        with Vertical(classes="dialog mapping-dialog"):
            yield Label(title, classes="dialog-title")
            if self.removal:
                group, role, connection = self.removal
                where = "any connection" if connection is None else f"connection {connection}"
                body = f"IdP group “{shown(group)}” of {shown(where)} -> role {shown(role)}"
                yield Static(Text(body), classes="dialog-body")
            else:
                yield Input(placeholder="IdP group name, as your IdP pushes it", id="group")
                yield Static("", id="group-warning", classes="dialog-problem")
                choices = [(Text(safe_text(r)), r) for r in self.roles]
                yield Select(choices, prompt="Role", id="role", compact=True)
                scopes = [(Text("Groups of any connection"), ANY)] + [
                    (Text(f"Groups of connection {safe_text(c)}"), c) for c in self.connections
                ]
                yield Select(scopes, value=ANY, allow_blank=False, id="connection", compact=True)
            with Horizontal(id="preview-status"):
                yield LoadingIndicator(id="preview-loading")
                yield Static("Preview: enter a group and a role.", id="preview-summary")
            yield ProgressLine("active member(s) compared", id="preview-progress")
            with VerticalScroll(id="preview-box"):
                yield FittedTable(PREVIEW_COLUMNS, id="preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (Esc)", id="cancel", compact=True)
                label = "Remove (ctrl+s)" if self.removal else "Save (ctrl+s)"
                yield Button(label, id="save", variant="primary", compact=True, disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#preview-loading").display = False
        self.load_groups()
        if self.removal:
            self._schedule_preview()
        else:
            self.query_one("#group", Input).focus()

    # ---- known groups ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="mapping-groups")
    def load_groups(self) -> None:
        with store_call(self.ctx, self.app, "load group names"):
            self.post_message(GroupsKnown(group_sizes(self.ctx.store)))

    def on_groups_known(self, message: GroupsKnown) -> None:
        self.known = message.sizes
        self._check_group()

    def _check_group(self) -> None:
        """Warn about a group no IdP has pushed, offering the closest known names."""
        if self.removal or self.known is None:
            return
        typed = self.query_one("#group", Input).value.strip()
        known_keys = {group_key(name) for name in self.known}
        self.suggestions = []
        text = ""
        if typed and group_key(typed) not in known_keys:
            self.suggestions = closest_names(typed, self.known, key=group_key)
            text = f"No IdP has pushed a group named “{shown(typed)}”."
            if self.suggestions:
                names = ", ".join(f"“{shown(n)}”" for n in self.suggestions)
                text += f" Did you mean {names}? ctrl+g uses the first."
            else:
                text += " Check the spelling against your IdP."
        self.query_one("#group-warning", Static).update(Text(text))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "use_suggestion":
            return bool(self.suggestions)
        if action == "save":
            return not self.query_one("#save", Button).disabled
        return True

    def action_use_suggestion(self) -> None:
        if self.suggestions:
            field = self.query_one("#group", Input)
            field.value = self.suggestions[0]
            field.cursor_position = len(field.value)

    # ---- preview -----------------------------------------------------------------------

    def current(self) -> MappingRow | None:
        """The (group, role, connection) the dialog would save, or None while incomplete."""
        if self.removal:
            return self.removal
        group = self.query_one("#group", Input).value.strip()
        role = self.query_one("#role", Select).value
        where = self.query_one("#connection", Select).value
        if not group or not isinstance(role, str):
            return None
        return group, role, (where if isinstance(where, str) and where != ANY else None)

    @on(Input.Changed, "#group")
    @on(Select.Changed, "#role")
    @on(Select.Changed, "#connection")
    def _schedule_preview(self) -> None:
        self._set_save(False)
        self._check_group()
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(self.ctx.search_debounce_seconds, self._preview_now)

    def _preview_now(self) -> None:
        wanted = self.current()
        self.query_one("#preview-progress", ProgressLine).clear()
        if wanted is None:
            self.workers.cancel_group(self, "mapping-preview")
            self.query_one("#preview-loading").display = False
            self._summary("Preview: enter a group and a role.")
            self.query_one("#preview", FittedTable).set_rows([])
            return
        self.query_one("#preview-loading").display = True
        self._summary(f"Computing who is affected…{self._size_note(wanted[0])}")
        self.preview(wanted)

    def _size_note(self, group: str) -> str:
        for name, members in (self.known or {}).items():
            if group_key(name) == group_key(group):
                return f" · groups named “{shown(name)}” have {members:,} member(s)"
        return ""

    @work(thread=True, exclusive=True, group="mapping-preview")
    def preview(self, wanted: MappingRow) -> None:
        with store_call(self.ctx, self.app, "preview mapping"):
            add: list[MappingEdit] = [] if self.removal else [wanted]
            remove: list[MappingEdit] = [wanted] if self.removal else []
            progress = progress_reporter(
                lambda done, total: self.post_message(MappingPreviewProgress(wanted, done, total))
            )
            try:
                changes = preview_mapping_change(self.ctx.store, add, remove, progress)
            except WorkStopped:
                return  # superseded by a newer preview, or the dialog closed
            found = groups_named(self.ctx.store, wanted[0], wanted[2])
            self.post_message(
                MappingPreviewed(wanted, tuple(changes), matches_text(found, wanted[2]))
            )

    def on_mapping_preview_progress(self, message: MappingPreviewProgress) -> None:
        if message.request == self.current():
            self.query_one("#preview-progress", ProgressLine).show_progress(
                message.done, message.total
            )

    def on_mapping_previewed(self, message: MappingPreviewed) -> None:
        if message.request != self.current():
            return  # the operator has typed on since
        self.query_one("#preview-progress", ProgressLine).clear()
        self.query_one("#preview-loading").display = False
        self.previewed = message.request
        changes = message.changes
        self._summary(f"{preview_summary(changes)}\n{message.matched}")
        self.query_one("#preview", FittedTable).set_rows(
            [
                (
                    f"{user}\0{role}\0{effect}",
                    (user, role, "gains" if effect == "gain" else "loses"),
                )
                for user, role, effect in changes[:PREVIEW_ROWS]
            ]
        )
        self._set_save(True)

    def _summary(self, text: str) -> None:
        self.query_one("#preview-summary", Static).update(Text(text))

    def _set_save(self, enabled: bool) -> None:
        self.query_one("#save", Button).disabled = not enabled
        self.refresh_bindings()

    # ---- answer ------------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.previewed is not None and self.previewed == self.current():
            self.dismiss(self.previewed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def preview_summary(changes: Sequence[tuple[str, str, str]]) -> str:
    gains = sum(1 for _, _, effect in changes if effect == "gain")
    losses = len(changes) - gains
    users = len({user for user, _, _ in changes})
    if not changes:
        return "Preview: nobody's roles change (no active member of this group is affected)."
    shown_rows = min(len(changes), PREVIEW_ROWS)
    listed = f", first {shown_rows} listed" if shown_rows < len(changes) else ""
    return (
        f"Preview: {gains:,} role gain(s), {losses:,} role loss(es) for {users:,} user(s){listed}"
    )
