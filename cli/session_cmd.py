"""``trident-scim session``: start a browser session for a user (Control's sign-in integration
and tests) and end all of a user's sessions.

Translation only (``store.services.sessions``). ``session start`` prints the cookie value
alone on the last line of stdout; it is never printed or stored anywhere else.
"""

from __future__ import annotations

import argparse

from cli.context import CliContext
from store.domain.display import safe_text
from store.services.sessions import end_sessions, start_session


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    session = sub.add_parser("session", help="Control browser sessions")
    ssub = session.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    start = ssub.add_parser("start", help="start a session; prints the cookie value last")
    start.add_argument("user_name", metavar="USERNAME")
    start.set_defaults(func=_start)
    end = ssub.add_parser("end", help="end every session of a user")
    end.add_argument("user_name", metavar="USERNAME")
    end.set_defaults(func=_end)


def _start(ctx: CliContext) -> int:
    record, cookie = start_session(ctx.store(), ctx.args.user_name, ctx.actor)
    until = record.expires_at.strftime("%Y-%m-%d %H:%M:%SZ")
    name = ctx.settings.sessions.cookie_name
    ctx.out(f"session for {safe_text(record.user_name)} until {until}; cookie {name}=")
    ctx.out(cookie)
    return 0


def _end(ctx: CliContext) -> int:
    ended = end_sessions(ctx.store(), ctx.args.user_name, ctx.actor)
    ctx.out(f"{ended} session(s) of {safe_text(ctx.args.user_name)} ended")
    return 0
