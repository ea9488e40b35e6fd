"""``trident-scim session``: start a browser session for a user (Control's sign-in integration
and tests), list a user's valid sessions with where they are used from, and end all of a
user's sessions.

Translation only (``store.services.sessions``, ``store.queries.identity``). ``session start``
prints the cookie value alone on the last line of stdout; it is never printed or stored
anywhere else. Addresses and User-Agents came from outside: the text listing shows them
through the terminal sanitiser, ``--json`` exactly.
"""

from __future__ import annotations

import argparse

from cli.context import CliContext, add_json_flag, add_user_argument, user_ref
from cli.output import iso_utc, print_listing, utc_minute, utc_seconds
from store.domain.clients import address_label
from store.domain.display import safe_text
from store.queries.identity import active_sessions, user_id_for
from store.records import SessionClient, SessionRecord
from store.services.sessions import end_sessions, start_session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    session = sub.add_parser("session", help="Control browser sessions")
    ssub = session.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    start = ssub.add_parser("start", help="start a session; prints the cookie value last")
    start.add_argument("user_name", metavar="USERNAME")
    start.add_argument(
        "--address", metavar="IP", help="the browser's IP address, as the sign-in saw it"
    )
    start.add_argument("--user-agent", metavar="TEXT", help="the browser's User-Agent")
    start.set_defaults(func=_start)
    listing = ssub.add_parser(
        "list", help="a user's valid sessions: started, last seen, expiry, address, User-Agent"
    )
    add_user_argument(listing)
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    end = ssub.add_parser("end", help="end every session of a user")
    end.add_argument("user_name", metavar="USERNAME")
    end.set_defaults(func=_end)


def _start(ctx: CliContext) -> int:
    given = ctx.args.address is not None or ctx.args.user_agent is not None
    client = SessionClient(ctx.args.address, ctx.args.user_agent) if given else None
    record, cookie = start_session(ctx.store(), ctx.args.user_name, ctx.actor, client)
    until = utc_seconds(record.expires_at)
    name = ctx.settings.sessions.cookie_name
    ctx.out(f"session for {safe_text(record.user_name)} until {until}; cookie {name}=")
    ctx.out(cookie)
    return 0


def session_json(s: SessionRecord) -> dict[str, object]:
    return {
        "id": s.id,
        "started": iso_utc(s.created),
        "last_seen": iso_utc(s.last_seen),
        "expires": iso_utc(s.expires_at),
        "address": s.client_address,
        "user_agent": s.user_agent,
    }


def _list(ctx: CliContext) -> int:
    ref, by_id = user_ref(ctx)
    store = ctx.store()
    sessions = active_sessions(store, user_id_for(store, ref, by_id=by_id))
    return print_listing(
        ctx,
        sessions,
        as_json=session_json,
        as_row=_session_row,
        headers=["SESSION", "STARTED", "LAST SEEN", "EXPIRES", "ADDRESS", "USER-AGENT"],
        empty="no valid sessions",
    )


def _session_row(s: SessionRecord) -> list[object]:
    return [
        f"#{s.id}",
        utc_minute(s.created),
        utc_minute(s.last_seen),
        utc_minute(s.expires_at),
        address_label(s.client_address),
        s.user_agent or "-",
    ]


def _end(ctx: CliContext) -> int:
    ended = end_sessions(ctx.store(), ctx.args.user_name, ctx.actor)
    ctx.out(f"{ended} session(s) of {safe_text(ctx.args.user_name)} ended")
    return 0
