"""The SSO group-to-role mapping panel: list the rows (each for one IdP connection's groups,
or for any connection's), add one, remove one, each after a preview of who gains or loses
which role.

Members of a mapped IdP group hold the role while they are active; changing the mapping
recomputes them in the store's use case (``set_mapping`` / ``remove_mapping``), in batches
whose progress the status line shows. Large changes still running in batches (a mapping
save's recomputation, a group's member moves or deletion pushed by an IdP, or one a stopped
process left to the worker) are listed above it with their progress, refreshed with the
panel. This panel only lists, asks and calls. No Pony here.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from store.domain.roles import mapping_connection_label
from store.queries.identity import list_mappings, list_roles
from store.records import LargeChange, MappingRecord
from store.services.connections import list_connections
from store.services.recompute_queue import in_progress
from store.services.roles import remove_mapping, set_mapping
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import shown, timestamp
from tui.messages import MappingChanged, MappingProgress, MappingsLoaded
from tui.screens.mapping_dialog import MappingDialog, MappingRow
from tui.widgets.fitted_table import ColumnSpec, FittedTable
from tui.widgets.panel import RefreshingPanel
from tui.widgets.progress_line import progress_text

MAPPING_COLUMNS = (
    ColumnSpec("group", "IdP group", 16, 3),
    ColumnSpec("role", "Role", 10, 1),
    ColumnSpec("connection", "Connection", 10, 2),
    ColumnSpec("created", "Created", 16),
    ColumnSpec("by", "Created by", 12, 2),
)
EXPLANATION = (
    "Members of a mapped IdP group hold its role while they are active. Group names match "
    "the groups your IdP pushes, case-insensitively: in the row's connection, or in any "
    "connection. Manual roles are never changed here."
)


def mapping_key(group_name: str, role: str, connection: str | None = None) -> str:
    return f"{group_name}\0{role}\0{connection or ''}"


class MappingsPanel(RefreshingPanel):
    """Settings -> Authentication -> SSO group-to-role mapping."""

    HELP_NAME = "mapping panel"

    BINDINGS = [
        Binding("a", "add", "Add mapping"),
        Binding("x", "remove", "Remove mapping"),
    ]

    def __init__(self, ctx: TuiContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.mappings: dict[str, MappingRecord] = {}
        self.roles: tuple[str, ...] = ()
        self.connections: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(Text(EXPLANATION), id="mapping-help")
        yield FittedTable(MAPPING_COLUMNS, id="mapping-table")
        changes = Static("", markup=False, id="mapping-changes")
        changes.display = False
        yield changes
        yield Static("", id="mapping-count")

    def load_again(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one("#mapping-table", FittedTable).focus()

    @work(thread=True, exclusive=True, group="mappings-load")
    def load(self) -> None:
        with store_call(self.ctx, self.app, "load mappings"):
            mappings = tuple(list_mappings(self.ctx.store))
            roles = tuple(r.name for r in list_roles(self.ctx.store))
            connections = tuple(c.name for c in list_connections(self.ctx.store))
            changes = tuple(in_progress(self.ctx.store))
            self.post_message(MappingsLoaded(mappings, roles, connections, changes))

    def on_mappings_loaded(self, message: MappingsLoaded) -> None:
        self.roles, self.connections = message.roles, message.connections
        self.mappings = {
            mapping_key(m.group_name, m.role, m.connection): m for m in message.mappings
        }
        self.query_one("#mapping-table", FittedTable).set_rows(
            [
                (
                    key,
                    (
                        m.group_name,
                        m.role,
                        mapping_connection_label(m.connection),
                        timestamp(m.created),
                        m.created_by,
                    ),
                )
                for key, m in self.mappings.items()
            ]
        )
        count = len(self.mappings)
        text = (
            f"{count} mapping row(s) · a: add · x: remove"
            if count
            else ("No mappings yet: press a to map an IdP group to a role.")
        )
        self.query_one("#mapping-count", Static).update(text)
        self._show_changes(message.changes)

    def _show_changes(self, changes: tuple[LargeChange, ...]) -> None:
        lines = [
            f"{shown(c.group)}: {c.what} {progress_text(c.done, c.total, c.noun)}" for c in changes
        ]
        widget = self.query_one("#mapping-changes", Static)
        widget.update(Text("Large changes in progress:\n" + "\n".join(lines)) if lines else "")
        widget.display = bool(lines)

    def action_add(self) -> None:
        if not self.roles:
            self.notify("No roles exist yet (run `trident-scim db init`).", severity="warning")
            return
        dialog = MappingDialog(self.ctx, self.roles, connections=self.connections)
        self.app.push_screen(dialog, self._add_answered)

    def _add_answered(self, answer: MappingRow | None) -> None:
        if answer:
            self.change(answer, remove=False)

    def action_remove(self) -> None:
        key = self.query_one("#mapping-table", FittedTable).current_key
        mapping = self.mappings.get(key) if key else None
        if mapping is None:
            self.notify("Select a mapping row to remove first.", severity="warning")
            return
        row = (mapping.group_name, mapping.role, mapping.connection)
        self.app.push_screen(
            MappingDialog(self.ctx, self.roles, removal=row), self._remove_answered
        )

    def _remove_answered(self, answer: MappingRow | None) -> None:
        if answer:
            self.change(answer, remove=True)

    @work(thread=True, group="mappings-write")
    def change(self, row: MappingRow, remove: bool) -> None:
        group, role, connection = row
        where = "any connection" if connection is None else connection
        store, actor = self.ctx.store, self.ctx.actor

        def progress(done: int, total: int) -> None:
            self.post_message(MappingProgress(done, total))

        with store_call(self.ctx, self.app, "remove mapping" if remove else "add mapping"):
            if remove:
                removed = remove_mapping(store, group, role, actor, progress, connection)
                summary = (
                    f"Removed {group} ({where}) -> {role}." if removed else "That mapping was gone."
                )
            else:
                saved = set_mapping(store, group, role, actor, progress, connection)
                where = mapping_connection_label(saved.connection)
                summary = f"Mapped IdP group {saved.group_name} ({where}) -> {saved.role}."
            self.post_message(MappingChanged(summary))

    def on_mapping_progress(self, message: MappingProgress) -> None:
        text = f"Recomputing IdP roles: {message.done}/{message.total} user(s) done"
        self.query_one("#mapping-count", Static).update(text)

    def on_mapping_changed(self, message: MappingChanged) -> None:
        self.notify(message.summary, markup=False)
        self.load()
