"""The dialog that adds or removes one SSO group-to-role mapping row, showing beforehand who
would gain or lose which role.

The preview is ``store.services.roles.preview_mapping_change`` run in a thread worker each
time the group or role settles; Save stays disabled until the preview shown matches what
would be saved. The dialog only answers ``(group, role)``: the mappings panel applies it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Select, Static

from store.domain.display import safe_text
from store.services.roles import preview_mapping_change
from tui.calls import store_call
from tui.context import TuiContext
from tui.messages import MappingPreviewed
from tui.widgets.fitted_table import ColumnSpec, FittedTable

PREVIEW_COLUMNS = (
    ColumnSpec("user", "userName", 20, 3),
    ColumnSpec("role", "Role", 10, 1),
    ColumnSpec("effect", "Effect", 6, 0, (("gains", "green"), ("loses", "red"))),
)


class MappingDialog(ModalScreen[tuple[str, str] | None]):
    """Add (editable group and role) or remove (fixed row) one mapping, with a preview."""

    CSS_PATH = ["dialogs.tcss", "mapping_dialog.tcss"]
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        ctx: TuiContext,
        roles: Sequence[str],
        removal: tuple[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.roles = tuple(roles)
        self.removal = removal
        self.previewed: tuple[str, str] | None = None
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        title = "Remove group-to-role mapping" if self.removal else "Add group-to-role mapping"
        with Vertical(classes="dialog"):
            yield Label(title, classes="dialog-title")
            if self.removal:
                group, role = self.removal
                shown = f"IdP group “{safe_text(group)}” -> role {safe_text(role)}"
                yield Static(Text(shown), classes="dialog-body")
            else:
                yield Input(placeholder="IdP group name, as your IdP pushes it", id="group")
                choices = [(Text(safe_text(r)), r) for r in self.roles]
                yield Select(choices, prompt="Role", id="role", compact=True)
            yield Static("Preview: enter a group and a role.", id="preview-summary")
            yield FittedTable(PREVIEW_COLUMNS, id="preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                label = "Remove" if self.removal else "Save"
                yield Button(label, id="save", variant="primary", compact=True, disabled=True)

    def on_mount(self) -> None:
        if self.removal:
            self._schedule_preview()
        else:
            self.query_one("#group", Input).focus()

    # ---- preview -----------------------------------------------------------------------

    def current(self) -> tuple[str, str] | None:
        """The (group, role) the dialog would save, or None while incomplete."""
        if self.removal:
            return self.removal
        group = self.query_one("#group", Input).value.strip()
        role = self.query_one("#role", Select).value
        if not group or not isinstance(role, str):
            return None
        return group, role

    @on(Input.Changed, "#group")
    @on(Select.Changed, "#role")
    def _schedule_preview(self) -> None:
        self.query_one("#save", Button).disabled = True
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(self.ctx.search_debounce_seconds, self._preview_now)

    def _preview_now(self) -> None:
        wanted = self.current()
        if wanted is None:
            self.query_one("#preview-summary", Static).update("Preview: enter a group and a role.")
            self.query_one("#preview", FittedTable).set_rows([])
            return
        self.preview(wanted)

    @work(thread=True, exclusive=True, group="mapping-preview")
    def preview(self, wanted: tuple[str, str]) -> None:
        with store_call(self.ctx, self.app, "preview mapping"):
            add = [] if self.removal else [wanted]
            remove = [wanted] if self.removal else []
            changes = preview_mapping_change(self.ctx.store, add=add, remove=remove)
            self.post_message(MappingPreviewed(wanted, tuple(changes)))

    def on_mapping_previewed(self, message: MappingPreviewed) -> None:
        if message.request != self.current():
            return  # the operator has typed on since
        self.previewed = message.request
        changes = message.changes
        self.query_one("#preview-summary", Static).update(Text(preview_summary(changes)))
        self.query_one("#preview", FittedTable).set_rows(
            [
                (
                    f"{user}\0{role}\0{effect}",
                    (user, role, "gains" if effect == "gain" else "loses"),
                )
                for user, role, effect in changes
            ]
        )
        self.query_one("#save", Button).disabled = False

    # ---- answer ------------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        if self.previewed is not None and self.previewed == self.current():
            self.dismiss(self.previewed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def preview_summary(changes: Sequence[tuple[str, str, str]]) -> str:
    gains = sum(1 for _, _, effect in changes if effect == "gain")
    losses = len(changes) - gains
    if not changes:
        return "Preview: nobody's roles change (no active member of this group is affected)."
    return f"Preview: {gains} role gain(s), {losses} role loss(es) on saving:"
