"""``trident-scim tui``: open the operators' terminal UI on the configured database.

Translation only: it opens the store, builds the app with ``tui.app.build_app`` (the same
factory the tests use) and runs it. A missing or unreachable database is a readable error
that points at ``trident-scim db init``, never a traceback. While the app owns the terminal,
log records go to Textual's log (``textual console``) instead of stderr, which would garble
the screen.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.context import CliContext, CliError, printable_url
from store.context import Store
from store.db import parse_database_url
from store.errors import StoreError
from store.queries.identity import list_roles


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tui = sub.add_parser("tui", help="the operators' terminal UI (tokens, users, role mapping)")
    tui.add_argument(
        "--refresh",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often the panels refresh themselves (default 5; 0 turns it off)",
    )
    tui.set_defaults(func=_run)


def _run(ctx: CliContext) -> int:
    from tui.app import build_app

    if ctx.args.refresh < 0:
        raise CliError("--refresh must be 0 (off) or a number of seconds")
    store = open_for_tui(ctx)
    app = build_app(store, ctx.settings, ctx.actor, refresh_seconds=ctx.args.refresh or None)
    with _logs_to_textual():
        app.run()
    return 0


def open_for_tui(ctx: CliContext) -> Store:
    """Open the existing database (never create one) and check that its schema is there."""
    url = ctx.settings.database.url
    shown = printable_url(url)
    hint = "run `trident-scim db init` first (and check [database] url in the config)"
    args = parse_database_url(url)
    if args["provider"] == "sqlite" and not Path(args["filename"]).exists():
        raise CliError(f"database file {args['filename']} does not exist: {hint}")
    try:
        store = ctx.store()
    except Exception as exc:  # Pony/driver errors: unreachable server, missing tables
        raise CliError(f"cannot open the database {shown}: {_first_line(exc)}; {hint}") from None
    try:
        list_roles(store)
    except StoreError as exc:
        raise CliError(f"the database {shown} is not usable: {exc}; {hint}") from None
    return store


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def _logs_to_textual() -> Iterator[None]:
    from textual.logging import TextualHandler

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [TextualHandler(stderr=False, stdout=False)]
    try:
        yield
    finally:
        root.handlers = saved
