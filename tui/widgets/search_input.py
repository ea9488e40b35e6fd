"""A one-line search or filter box that Escape leaves: focus goes back to the panel's table,
so keys such as ``q`` and ``1``-``3`` work again instead of being typed into the box."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class SearchInput(Input):
    """An ``Input`` whose Escape posts ``SearchInput.Left`` (the panel moves focus on)."""

    HELP_NAME = "search box"
    BINDINGS = [Binding("escape", "leave", "Leave search")]

    @dataclass
    class Left(Message):
        """The operator pressed Escape in the box."""

        search: SearchInput

        @property
        def control(self) -> SearchInput:
            return self.search

    def action_leave(self) -> None:
        self.post_message(self.Left(self))


def search_row(label: str, placeholder: str, *, id: str, row_id: str) -> Horizontal:
    """A one-line row: a bold label, then the search box filling the rest."""
    box = SearchInput(placeholder=placeholder, id=id, compact=True)
    return Horizontal(Label(f"{label} ", classes="field-label"), box, id=row_id)
