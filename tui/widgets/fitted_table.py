"""A DataTable whose columns share the available width, refreshed in place by row key.

The panels replace their rows every few seconds; this keeps the cursor on the same record
(by key) across refreshes, updates only changed cells when the rows are the same, and lays
the columns out again when the terminal is resized (80 columns or 200). Cell text is always
plain (never parsed as markup) and rendered through ``store.domain.display.safe_text``,
because names come from identity providers: no control or escape sequence reaches the
terminal from a cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

from store.domain.display import clip, safe_text

Cells = tuple[str, ...]


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    label: str
    min_width: int
    weight: int = 0  # share of the width left over once every column has its minimum
    styles: tuple[tuple[str, str], ...] = ()  # cell value -> Rich style, e.g. ("revoked", "red")

    def render(self, value: str, width: int) -> Text:
        style = dict(self.styles).get(value, "")
        return Text(clip(safe_text(value), width), style=style)


def fit_widths(specs: Sequence[ColumnSpec], available: int) -> list[int]:
    """Minimum widths plus the spare width split by weight (pure; unit tested)."""
    widths = [s.min_width for s in specs]
    spare = available - sum(widths)
    total_weight = sum(s.weight for s in specs)
    if spare <= 0 or total_weight == 0:
        return widths
    given = 0
    for i, spec in enumerate(specs):
        share = spare * spec.weight // total_weight
        widths[i] += share
        given += share
    for i, spec in enumerate(specs):  # rounding leftovers go to the weighted columns
        if given >= spare:
            break
        if spec.weight:
            widths[i] += 1
            given += 1
    return widths


class FittedTable(DataTable[Text]):
    """A row-cursor table of string cells keyed by record id."""

    HELP_NAME = "table"

    # Columns always fit the width, so Home/End move between the first and last rows.
    BINDINGS = [
        Binding("enter", "select_cursor", "Open", show=False),
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    def __init__(self, columns: Sequence[ColumnSpec], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.specs = tuple(columns)
        self._rows: list[tuple[str, Cells]] = []
        self._widths: list[int] = []

    # ---- public ------------------------------------------------------------------------

    @property
    def row_keys(self) -> list[str]:
        return [key for key, _ in self._rows]

    @property
    def current_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row][0]

    def cells_of(self, key: str) -> Cells | None:
        for row_key, cells in self._rows:
            if row_key == key:
                return cells
        return None

    def set_rows(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Show exactly ``rows``; keep the cursor on the same key when it is still there."""
        rows = list(rows)
        if not self._widths:
            self._layout_columns()
        if [k for k, _ in rows] == self.row_keys:
            self._update_changed(rows)
            return
        keep = self.current_key
        self._rows = rows
        self._rebuild_rows(keep)

    def append_rows(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Add rows at the end (the next page of a lazily loaded list)."""
        known = set(self.row_keys)
        for key, cells in rows:
            if key in known:
                continue
            self._rows.append((key, cells))
            self.add_row(*self._texts(cells), key=key)

    # ---- layout ------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        if self._compute_widths() != self._widths:
            keep = self.current_key
            self._layout_columns()
            self._rebuild_rows(keep)

    def _compute_widths(self) -> list[int]:
        padding = 2 * self.cell_padding * len(self.specs)
        available = self.size.width - padding - 2  # room for the vertical scrollbar
        return fit_widths(self.specs, available)

    def _layout_columns(self) -> None:
        self._widths = self._compute_widths()
        self.clear(columns=True)
        for spec, width in zip(self.specs, self._widths, strict=True):
            self.add_column(Text(spec.label), width=width, key=spec.key)

    def _rebuild_rows(self, keep: str | None) -> None:
        self.clear()
        for key, cells in self._rows:
            self.add_row(*self._texts(cells), key=key)
        keys = self.row_keys
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)

    def _update_changed(self, rows: list[tuple[str, Cells]]) -> None:
        for index, (key, cells) in enumerate(rows):
            old = self._rows[index][1]
            for spec, new_value, old_value, width in zip(
                self.specs, cells, old, self._widths, strict=True
            ):
                if new_value != old_value:
                    self.update_cell(key, spec.key, spec.render(new_value, width))
        self._rows = rows

    def _texts(self, cells: Cells) -> list[Text]:
        widths = self._widths or [s.min_width for s in self.specs]
        return [
            spec.render(value, width)
            for spec, value, width in zip(self.specs, cells, widths, strict=True)
        ]
