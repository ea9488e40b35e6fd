"""The help screen (``?`` or F1): every key of the screen the operator is on, read from its
active bindings, so it can never disagree with what the keys do.

Built from ``Screen.active_bindings`` of the screen underneath (the focused widget, its
panel, the screen and the app), listed by where they apply. It changes nothing.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Label, Static

KEY_SCHEME = (
    "The same key means the same thing everywhere: a adds (token, mapping, role), "
    "x revokes or removes, c copies, / searches or filters, f cycles a filter, Enter opens, "
    "Esc goes back or cancels, y confirms, r refreshes, q quits; n creates a connection, "
    "o rotates a token."
)


def binding_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(key, what it does, where it applies) for every described binding active on
    ``screen``; keys whose action is currently unavailable are left out."""
    app = screen.app
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        description = binding.description or binding.tooltip
        if not description or not active.enabled:
            continue
        key = app.get_key_display(binding)
        if (key, description) in seen:
            continue
        seen.add((key, description))
        rows.append((key, description, _where(active.node, screen)))
    # The screen's and its panels' own keys first, then the app's, then moving around a
    # table, then the scrolling keys of plain containers (at 80x24 the first rows are seen).
    plain = {type(node).__name__ for node in screen.walk_children() if not _named(node)}
    order = {"everywhere": 1, "table": 2}
    return sorted(rows, key=lambda row: 3 if row[2] in plain else order.get(row[2], 0))


def _named(node: object) -> bool:
    return bool(getattr(node, "HELP_NAME", ""))


def _where(node: object, screen: Screen[object]) -> str:
    if node is screen.app:
        return "everywhere"
    if node is screen:
        return "this screen"
    return getattr(node, "HELP_NAME", "") or type(node).__name__


class HelpScreen(ModalScreen[None]):
    """Keys of the screen underneath; Escape, ``?`` or F1 close it."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape,question_mark,f1", "close", "Close help"),
    ]

    def __init__(self, under: Screen[object], title: str) -> None:
        super().__init__()
        self.rows = binding_rows(under)
        self.under_title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Label(Text(f"Keys: {self.under_title}"), classes="dialog-title")
            table: DataTable[Text] = DataTable(
                id="help-keys", cursor_type="row", zebra_stripes=False
            )
            table.add_columns("Key", "Action", "Where")
            for row in self.rows:
                table.add_row(*(Text(cell) for cell in row))
            yield table
            yield Static(Text(KEY_SCHEME), classes="dialog-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-keys", DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)
