"""A full-screen, wrapped and scrollable view of one record's text: a request of the log
(its full request line, the complete filter, the whole error) or an audit event.

The text sits in a read-only ``TextArea``: it wraps at any width, scrolls, and can be
selected with the keyboard (shift+arrows) or the mouse (Shift+drag in most terminals passes
the drag to the terminal's own selection). ``c`` copies it all through OSC 52. The caller
hands in text already made safe with ``tui.format.shown``; nothing here reads the store.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TextArea

COPY_HINT = (
    "c copies all of it (OSC 52). If your terminal ignores that, select text here with "
    "shift+arrows, or Shift+drag with the mouse, and copy it with your terminal."
)


class TextDetailScreen(Screen[None]):
    """One record's full text; Escape goes back."""

    CSS_PATH = "text_detail.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("c", "copy", "Copy all"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.title_text, id="detail-title", markup=False)
        yield TextArea(
            self.text,
            id="detail-text",
            read_only=True,
            soft_wrap=True,
            show_line_numbers=False,
            compact=True,
        )
        yield Static(COPY_HINT, id="detail-hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self.query_one("#detail-text", TextArea).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Copied to the clipboard (if your terminal allows OSC 52).")

    def action_back(self) -> None:
        self.dismiss(None)
