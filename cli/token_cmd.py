"""``trident-scim token``: issue, list, rate-limit and revoke SCIM bearer tokens.

Translation only: the rules (hashing, uniqueness, revocation) live in
``store.services.tokens``. ``token create`` prints the secret once, as the only line of
stdout (the explanation goes to stderr), so ``$(trident-scim token create X)``, ``| head -1``
and ``| tail -n 1`` all take exactly the secret; nothing else ever prints it. When the secret
cannot be written (stdout closed), the token is revoked at once: a token nobody saw is
never left able to authenticate.
"""

from __future__ import annotations

import argparse
import math

from cli.context import CliContext, CliError, add_json_flag, connection_name
from cli.output import iso_utc, print_listing, utc_seconds
from store.domain.display import safe_text
from store.domain.tokens import parse_rate_limit
from store.queries.tokens import list_tokens
from store.records import TokenRecord
from store.services.connections import remove_connection
from store.services.tokens import (
    issue_token,
    locked_addresses,
    revoke_token,
    set_token_rate_limit,
    unlock_address,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser("token", help="SCIM bearer tokens for your IdP")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = tsub.add_parser("create", help="issue a token (shown once, on the last line)")
    create.add_argument("name", metavar="NAME", help='a descriptive name, e.g. "Okta SCIM"')
    create.add_argument(
        "--connection",
        metavar="CONN",
        help="the IdP connection it authenticates as (default: a new connection named NAME)",
    )
    create.add_argument(
        "--rate-limit", type=int, metavar="N", help="requests per minute for this token"
    )
    create.set_defaults(func=_create)
    listing = tsub.add_parser("list", help="list tokens (never their secrets)")
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    revoke = tsub.add_parser("revoke", help="revoke a token: it stops working at once")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(func=_revoke)
    limit = tsub.add_parser("limit", help="set a token's requests per minute")
    limit.add_argument("name", metavar="NAME")
    limit.add_argument("rate_limit", metavar="N|default", help="a number, or 'default'")
    limit.set_defaults(func=_limit)
    locked = tsub.add_parser(
        "locked", help="client addresses with failed authentications counted, and the locked ones"
    )
    add_json_flag(locked)
    locked.set_defaults(func=_locked)
    unlock = tsub.add_parser(
        "unlock", help="forget an address's failed authentications: it may authenticate again"
    )
    unlock.add_argument(
        "address",
        metavar="ADDRESS",
        help="an IP address, an IPv6 /64 as 'locked' shows it, or 'unknown'",
    )
    unlock.set_defaults(func=_unlock)


def _as_json(token: TokenRecord) -> dict[str, object]:
    return {
        "name": token.name,
        "connection": token.connection,
        "prefix": token.prefix,
        "created": iso_utc(token.created),
        "created_by": token.created_by,
        "last_used": iso_utc(token.last_used),
        "status": token.status,
        "rate_limit": token.rate_limit,
        "revoked_at": iso_utc(token.revoked_at),
    }


def _create(ctx: CliContext) -> int:
    args = ctx.args
    connection = (
        None if args.connection is None else connection_name(args.connection, "--connection")
    )
    issued = issue_token(
        ctx.store(), args.name, ctx.actor, rate_limit=args.rate_limit, connection=connection
    )
    record = issued.record
    limit = record.rate_limit or ctx.settings.rate_limit.requests_per_minute
    name, owner = safe_text(record.name), safe_text(record.connection)
    ctx.note(
        f"token '{name}' created for connection '{owner}' "
        f"(prefix {record.prefix}, {limit} requests/minute)"
    )
    ctx.note(f"SCIM Base URL: {ctx.settings.scim_base_url}")
    ctx.note("This token is shown once and never again: copy it now into your IdP.")
    try:
        ctx.out(issued.secret)
    except OSError:  # a closed pipe or stdout: the secret was never seen
        revoke_token(ctx.store(), record.name, ctx.actor)
        if connection is None:  # the connection was made for this token: it goes too
            remove_connection(ctx.store(), record.connection, ctx.actor)
        raise CliError(
            f"the secret of token '{record.name}' could not be written to standard output, so the "
            "token was revoked; run token create again"
        ) from None
    return 0


def _list(ctx: CliContext) -> int:
    default = ctx.settings.rate_limit.requests_per_minute

    def row(t: TokenRecord) -> list[str]:
        return [
            t.name,
            t.connection,
            t.prefix + "…",
            utc_seconds(t.created),
            t.created_by,
            utc_seconds(t.last_used),
            t.status,
            f"{t.rate_limit}/min" if t.rate_limit else f"{default}/min (default)",
        ]

    return print_listing(
        ctx, list_tokens(ctx.store()), as_json=_as_json, as_row=row, headers=HEADERS,
        empty="no tokens yet: trident-scim token create NAME",
    )  # fmt: skip


HEADERS = [
    "NAME", "CONNECTION", "PREFIX", "CREATED", "CREATED BY", "LAST USED", "STATUS", "RATE LIMIT"
]  # fmt: skip


def _revoke(ctx: CliContext) -> int:
    record = revoke_token(ctx.store(), ctx.args.name, ctx.actor)
    ctx.out(
        f"token '{safe_text(record.name)}' ({record.prefix}) revoked: it no longer authenticates"
    )
    return 0


def _limit(ctx: CliContext) -> int:
    value = parse_rate_limit(ctx.args.rate_limit)
    record = set_token_rate_limit(ctx.store(), ctx.args.name, value, ctx.actor)
    shown = f"{record.rate_limit}" if record.rate_limit else "the default"
    ctx.out(f"token '{safe_text(record.name)}' is limited to {shown} requests per minute")
    return 0


def _locked(ctx: CliContext) -> int:
    found = locked_addresses(ctx.store())
    print_listing(
        ctx,
        found,
        as_json=lambda a: {
            "address": a.address,
            "failures": a.failures,
            "locked": a.locked,
            "retry_after_seconds": math.ceil(a.retry_after),
        },
        as_row=lambda a: [
            a.address,
            a.failures,
            f"locked for {math.ceil(a.retry_after)} s" if a.locked else "counting",
        ],
        headers=["ADDRESS", "FAILURES", "STATUS"],
        empty="no failed authentications are counted against any address",
    )
    if found and not ctx.args.json:
        per_minute = ctx.settings.rate_limit.auth_failures_per_minute
        ctx.note(
            f"A locked address gets 429 for every SCIM request, valid tokens included, until "
            f"it has made no more than {per_minute} failed attempts in a minute. Several IdPs "
            "behind one proxy share its address unless the proxy is in [api] trusted_proxies. "
            "trident-scim token unlock ADDRESS forgets an address's failures."
        )
    return 0


def _unlock(ctx: CliContext) -> int:
    forgotten = unlock_address(ctx.store(), ctx.args.address, ctx.actor)
    state = "was locked" if forgotten.locked else "was not locked"
    ctx.out(
        f"address {safe_text(forgotten.address)} unlocked: {forgotten.failures} failed "
        f"authentications forgotten ({state})"
    )
    return 0
