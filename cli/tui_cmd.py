"""``trident-scim tui``: open the operators' terminal UI on the configured database.

Translation only: it opens the store, builds the app with ``tui.app.build_app`` (the same
factory the tests use) and runs it. Without a terminal on stdin and stdout it refuses at
once (exit 2); SIGHUP (an SSH disconnect) exits it. A missing or unreachable database is a
readable one-line error, never a traceback. While the app owns the terminal,
log records go to Textual's log (``textual console``) instead of stderr, which would garble
the screen.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cli.context import CliContext, CliError
from store.context import Store
from store.queries.identity import list_roles

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

HANGUP_GRACE_SECONDS = 5.0
"""After SIGHUP, how long the app may take to exit before the process ends regardless."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    require_terminal()
    store = open_for_tui(ctx)
    app = build_app(store, ctx.settings, ctx.actor, refresh_seconds=ctx.args.refresh or None)
    with _logs_to_textual():
        run_until_hangup(app)
    return 0


def require_terminal() -> None:
    """Refuse to start without a terminal on stdin and stdout (``ssh host trident-scim tui``
    without ``-t``): a TUI nobody can see would run, and hold the database, for ever."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CliError(
            "the TUI needs a terminal on stdin and stdout (over SSH use `ssh -t`); "
            "for scripts use the other commands, e.g. `trident-scim user list --json`"
        )


def run_until_hangup(app: App[None]) -> None:
    """Run the app; SIGHUP (the SSH connection or terminal went away) exits it cleanly, and
    should the exit itself hang on the dead terminal, the process ends soon after anyway."""

    def hangup() -> None:
        log.info("SIGHUP: the terminal went away; exiting")
        app.exit()
        guard = threading.Timer(HANGUP_GRACE_SECONDS, os._exit, args=(129,))
        guard.daemon = True  # a clean exit does not wait for it
        guard.start()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, hangup)
        try:
            await app.run_async()
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    asyncio.run(run())


def open_for_tui(ctx: CliContext) -> Store:
    """Open the existing database (never create one) and check that its schema is there;
    failures are the store's one-line errors (no database, access denied, unreachable)."""
    store = ctx.store()
    list_roles(store)
    return store


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
