"""``trident-scim activity``: the request log, as the TUI's activity panel shows it (the same
store query), narrowed by connection, token, status and age, for troubleshooting over SSH.

Text output is terminal-safe: every field of the log came from a client, so each goes
through ``store.domain.display``; ``--json`` gives the exact values (JSON-escaped).
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import CliContext, CliError, add_json_flag, connection_name
from cli.output import iso_utc, print_listing, utc_seconds
from store.domain.activity_filters import FilterError, parse_age, parse_status
from store.domain.request_log import status_text
from store.queries.activity import ActivityFilter, recent_activity, token_ids_named
from store.records import ActivityRecord
from store.services.activity import logged_connection

MAX_LIMIT = 10_000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    activity = sub.add_parser(
        "activity",
        help="the request log: what each IdP sent and what it got (errors first)",
        description="Show the request log, newest first, errors first (as the TUI shows it).",
    )
    which = activity.add_mutually_exclusive_group()
    which.add_argument(
        "--connection", metavar="CONN", help="only requests of this IdP connection's tokens"
    )
    which.add_argument("--token", metavar="NAME", help="only requests with this token")
    activity.add_argument("--status", metavar="CODE|CLASS", help="e.g. 401, 4xx or 5xx")
    activity.add_argument("--since", metavar="AGE", help="only the last AGE, e.g. 30m, 1h, 2d")
    activity.add_argument("--limit", default="50", metavar="N", help="entries shown (default 50)")
    add_json_flag(activity)
    activity.set_defaults(func=_activity)


def _filter(ctx: CliContext) -> tuple[ActivityFilter, int]:
    args = ctx.args
    if not args.limit.isdigit() or not 1 <= int(args.limit) <= MAX_LIMIT:
        raise CliError(f"--limit must be a number from 1 to {MAX_LIMIT}, got {args.limit!r}")
    try:
        status = None if args.status is None else parse_status(args.status)
        age = None if args.since is None else parse_age(args.since)
    except FilterError as exc:
        raise CliError(str(exc)) from None
    store = ctx.store()
    token_ids = None
    if args.token is not None:
        token_ids = token_ids_named(store, args.token)
        if not token_ids:
            raise CliError(f"no token named '{args.token}' (see `trident-scim token list`)")
    connection = (
        ""
        if args.connection is None
        else logged_connection(store, connection_name(args.connection, "--connection"))
    )
    since = None if age is None else store.clock() - age
    wanted = ActivityFilter(token_ids=token_ids, status=status, since=since, connection=connection)
    return wanted, int(args.limit)


def _activity(ctx: CliContext) -> int:
    wanted, limit = _filter(ctx)
    rows = recent_activity(ctx.store(), limit=limit, errors_first=True, wanted=wanted)
    return print_listing(
        ctx, rows, as_json=_as_json, as_row=_as_row, headers=HEADERS,
        empty="no matching requests in the log",
    )  # fmt: skip


HEADERS = [
    "TIME (UTC)",
    "CONNECTION",
    "TOKEN",
    "CLIENT",
    "METHOD",
    "PATH",
    "STATUS",
    "MS",
    "DETAIL",
]


def _as_row(r: ActivityRecord) -> list[str]:
    return [
        utc_seconds(r.at, suffix=""),
        r.connection or "-",
        r.token_name or "-",
        r.client or "-",
        r.method,
        r.path + (f"?{r.query}" if r.query else ""),
        f"{status_text(r.status, r.hits)} {r.scim_type}".strip(),
        f"{r.latency_ms:.0f}",
        r.detail,
    ]


def _as_json(r: ActivityRecord) -> dict[str, Any]:
    return {
        "at": iso_utc(r.at),
        "connection": r.connection or None,
        "token": r.token_name or None,
        "token_id": r.token_id,
        "client": r.client,
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "status": r.status,
        "hits": r.hits,
        "scimType": r.scim_type or None,
        "detail": r.detail,
        "user_agent": r.user_agent,
        "latency_ms": r.latency_ms,
    }
