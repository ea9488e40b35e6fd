"""How every command prints what it lists: exact JSON for ``--json``, otherwise an aligned
text table of terminal-safe cells (or one line saying there is nothing), with times in UTC.

Every table cell goes through the one terminal sanitiser (``store.domain.display``: names
come from identity providers, request-log fields from any client) and is cut to
``limits.SHOWN_CELL`` characters, so no value can reach the terminal as a control sequence,
fake a row of its own, or stretch a row past a readable line. JSON is not sanitised: its
escaping is exact, and it is the way to read a value whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from cli.context import CliContext
from store.domain import limits
from store.domain.display import clip, safe_text

R = TypeVar("R")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table (works in any terminal and in logs); every cell
    terminal-safe and at most ``limits.SHOWN_CELL`` characters wide."""
    cells = [[clip(safe_text(c), limits.SHOWN_CELL) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def print_json(ctx: CliContext, data: Any) -> int:
    """``data`` as indented JSON on stdout (the ``--json`` answer of every command)."""
    ctx.out(json.dumps(data, indent=2, default=str))
    return 0


def print_listing(
    ctx: CliContext,
    records: Sequence[R],
    *,
    as_json: Callable[[R], Any],
    as_row: Callable[[R], Sequence[Any]],
    headers: Sequence[str],
    empty: str,
) -> int:
    """A list command's answer: the records as a JSON array with ``--json``, else ``empty``
    when there are none, else a table of one row per record."""
    if ctx.args.json:
        return print_json(ctx, [as_json(r) for r in records])
    ctx.out(table([as_row(r) for r in records], headers) if records else empty)
    return 0


def iso_utc(value: datetime | None) -> str | None:
    """A timestamp for --json output: ISO 8601 in UTC with a trailing Z, or null."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def utc_seconds(value: datetime | None, empty: str = "never", suffix: str = "Z") -> str:
    """A UTC time to the second for a table or a sentence: "2026-01-31 12:00:05Z"."""
    return empty if value is None else f"{value:%Y-%m-%d %H:%M:%S}{suffix}"


def utc_minute(value: datetime) -> str:
    """A UTC time to the minute for a narrow table: "2026-01-31 12:00Z"."""
    return f"{value:%Y-%m-%d %H:%M}Z"
