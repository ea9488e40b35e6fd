"""What every subcommand gets: the loaded settings and a lazily opened store."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from store.config import Settings
from store.context import Store, open_store


class CliError(Exception):
    """A readable failure: printed as ``error: ...`` with exit status 2, never a traceback."""


@dataclass
class CliContext:
    settings: Settings
    args: argparse.Namespace
    _store: Store | None = field(default=None, repr=False)

    def store(self, create: bool = False) -> Store:
        if self._store is None:
            self._store = open_store(self.settings, create=create)
        return self._store

    @property
    def actor(self) -> str:
        """Who an operator action is recorded as: ``operator:<login>``."""
        try:
            name = getpass.getuser()
        except Exception:
            name = "unknown"
        return f"operator:{name}"

    def out(self, text: str = "") -> None:
        print(text, file=sys.stdout, flush=True)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_user_argument(parser: argparse.ArgumentParser) -> None:
    """USER (userName in any case, or id) or ``--id ID``: the one way commands name a user."""
    parser.add_argument(
        "user_name",
        metavar="USER",
        nargs="?",
        help="userName (any case) or id; refused when it is one user's id and another's userName",
    )
    parser.add_argument("--id", dest="user_id", metavar="ID", help="address the user by id only")


def user_ref(ctx: CliContext) -> tuple[str, bool]:
    """(the argument, whether it is an id only) from ``add_user_argument``'s options."""
    name, user_id = ctx.args.user_name, ctx.args.user_id
    if (name is None) == (user_id is None):
        raise CliError("name the user once: USER or --id ID")
    return (user_id, True) if user_id is not None else (name, False)


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain aligned text table (works in any terminal and in logs)."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def iso_utc(value: datetime | None) -> str | None:
    """A timestamp for --json output: ISO 8601 in UTC with a trailing Z, or null."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def printable_url(url: str) -> str:
    """A database URL fit to print or log: its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
