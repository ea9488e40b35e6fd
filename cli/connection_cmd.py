"""``trident-scim connection``: IdP connections. Create, list (tokens, users and groups owned,
last request, status, userName domains), show one, limit its userName domains, rename,
remove, and transfer what one IdP owns to another.

Translation only: names, kinds, ownership, removal and transfer rules live in
``store.services.connections`` and ``store.domain.connections``. Text output is terminal-safe
(names are typed by operators and may be pasted from anywhere); ``--json`` is exact.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import CliContext, add_json_flag, connection_name
from cli.output import iso_utc, print_json, table, utc_seconds
from store.domain.connections import KINDS
from store.domain.display import safe_text
from store.records import ConnectionRecord, TokenRecord, TransferPlan
from store.services.connections import (
    create_connection,
    get_connection,
    list_connections,
    remove_connection,
    rename_connection,
    set_connection_domains,
    transfer_connection,
)

HEADERS = ["CONNECTION / TOKEN", "KIND / PREFIX", "STATUS", "USERS", "GROUPS", "LAST USED"]
DRY_RUN_SHOWN = 200
"""Users and groups a dry run lists by name at most (the counts are always complete)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = sub.add_parser(
        "connection", help="IdP connections: each IdP owns the users and groups it provisions"
    )
    csub = connection.add_subparsers(dest="connection_command", metavar="ACTION", required=True)
    create = csub.add_parser("create", help="add a connection (one IdP); then issue it a token")
    create.add_argument("name", metavar="NAME", help='e.g. "Okta" or "Entra ID"')
    create.add_argument("--kind", metavar="|".join(KINDS), help="what kind of IdP it is")
    create.add_argument(
        "--domains",
        metavar="DOMAIN,...",
        help="the only userName domains its tokens may create or rename users in, e.g. "
        "corp.example,*.corp.example (default: any)",
    )
    create.set_defaults(func=_create)
    listing = csub.add_parser(
        "list", help="connections with their tokens, users, groups, last request and status"
    )
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    show = csub.add_parser("show", help="one connection: its tokens, counts and domains")
    show.add_argument("name", metavar="NAME")
    add_json_flag(show)
    show.set_defaults(func=_show)
    domains = csub.add_parser(
        "domains",
        help="limit the userName domains a connection's tokens may create or rename users in",
        description="With --set, the connection's tokens may only create users, or rename "
        "them, to userNames ending in @ one of the domains (*.corp.example: any subdomain "
        "of corp.example). Existing users are not changed. --clear allows any userName.",
    )
    domains.add_argument("name", metavar="NAME")
    choice = domains.add_mutually_exclusive_group(required=True)
    choice.add_argument("--set", dest="domains", metavar="DOMAIN,...")
    choice.add_argument("--clear", action="store_true", help="allow any userName again")
    domains.set_defaults(func=_domains)
    rename = csub.add_parser("rename", help="rename a connection (tokens and resources follow)")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    rename.set_defaults(func=_rename)
    remove = csub.add_parser(
        "remove", help="remove a connection that owns no users or groups (revokes its tokens)"
    )
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(func=_remove)
    transfer = csub.add_parser(
        "transfer",
        help="hand a connection's users (and groups) to another connection, e.g. a new IdP",
        description="Move the users, and unless --users-only the groups, of one connection to "
        "another. Manual roles, memberships and audit history stay. Try --dry-run first.",
    )
    transfer.add_argument("--from", dest="source", required=True, metavar="OLD")
    transfer.add_argument("--to", dest="target", required=True, metavar="NEW")
    transfer.add_argument(
        "--users-only", action="store_true", help="leave the groups where they are"
    )
    transfer.add_argument(
        "--dry-run", action="store_true", help="list what would move; change nothing"
    )
    add_json_flag(transfer)
    transfer.set_defaults(func=_transfer)


# ---- create, rename, remove ----------------------------------------------------------------


def _create(ctx: CliContext) -> int:
    args = ctx.args
    record = create_connection(ctx.store(), args.name, args.kind, ctx.actor, args.domains)
    kind = f" ({record.kind})" if record.kind else ""
    name = safe_text(record.name)
    limited = f"; userName domains: {domains_text(record)}" if record.domains else ""
    ctx.out(f"connection '{name}'{kind} created{limited}")
    ctx.note(f"Next: trident-scim token create NAME --connection '{name}'")
    return 0


def _rename(ctx: CliContext) -> int:
    old = connection_name(ctx.args.old, "OLD")
    record = rename_connection(ctx.store(), old, ctx.args.new, ctx.actor)
    ctx.out(f"connection '{safe_text(old)}' is now '{safe_text(record.name)}'")
    return 0


def _remove(ctx: CliContext) -> int:
    record = remove_connection(ctx.store(), connection_name(ctx.args.name), ctx.actor)
    revoked = sum(1 for t in record.tokens if t.revoked_at is None)
    ctx.out(f"connection '{safe_text(record.name)}' removed; {revoked} active token(s) revoked")
    return 0


def _domains(ctx: CliContext) -> int:
    name = connection_name(ctx.args.name, "NAME")
    wanted = None if ctx.args.clear else ctx.args.domains
    record, outside = set_connection_domains(ctx.store(), name, wanted, ctx.actor)
    ctx.out(f"connection '{safe_text(record.name)}' userName domains: {domains_text(record)}")
    if record.domains:
        ctx.out(
            f"{outside} existing user(s) of this connection are outside these domains; "
            "they are not changed (the IdP may still update them, not rename them outside)"
        )
    return 0


def domains_text(record: ConnectionRecord) -> str:
    """The allowed userName domains of a connection, or that any is allowed."""
    return ", ".join(record.domains) if record.domains else "any (not limited)"


# ---- list ----------------------------------------------------------------------------------


def token_json(token: TokenRecord) -> dict[str, Any]:
    return {
        "name": token.name,
        "prefix": token.prefix,
        "created": iso_utc(token.created),
        "created_by": token.created_by,
        "last_used": iso_utc(token.last_used),
        "status": token.status,
        "stale": token.status == "stale",
        "rate_limit": token.rate_limit,
        "revoked_at": iso_utc(token.revoked_at),
    }


def connection_json(record: ConnectionRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "kind": record.kind,
        "created": iso_utc(record.created_at),
        "status": record.status,
        "users": record.user_count,
        "groups": record.group_count,
        "last_used": iso_utc(record.last_used),
        "domains": list(record.domains) or None,
        "tokens": [token_json(t) for t in record.tokens],
    }


def connection_rows(records: list[ConnectionRecord]) -> list[list[Any]]:
    """One row per connection, its tokens indented beneath it (active ones first)."""
    rows: list[list[Any]] = []
    for c in records:
        rows.append(
            [c.name, c.kind or "-", c.status, c.user_count, c.group_count, utc_seconds(c.last_used)]
        )
        if c.domains:
            rows.append([f"  domains: {domains_text(c)}", "", "", "", "", ""])
        for t in c.tokens:
            rows.append([f"  {t.name}", f"{t.prefix}…", t.status, "", "", utc_seconds(t.last_used)])
    return rows


def _list(ctx: CliContext) -> int:
    records = list_connections(ctx.store())
    if ctx.args.json:
        return print_json(ctx, [connection_json(c) for c in records])
    if not records:
        ctx.out("no connections yet: trident-scim connection create NAME")
        return 0
    ctx.out(table(connection_rows(records), HEADERS))
    return 0


def _show(ctx: CliContext) -> int:
    record = get_connection(ctx.store(), connection_name(ctx.args.name, "NAME"))
    if ctx.args.json:
        return print_json(ctx, connection_json(record))
    ctx.out(table(connection_rows([record]), HEADERS))
    ctx.out(f"userName domains: {domains_text(record)}")
    return 0


# ---- transfer ------------------------------------------------------------------------------


def _transfer(ctx: CliContext) -> int:
    args = ctx.args
    plan = transfer_connection(
        ctx.store(),
        connection_name(args.source, "--from"),
        connection_name(args.target, "--to"),
        users_only=args.users_only,
        dry_run=args.dry_run,
        actor=ctx.actor,
    )
    if args.json:
        return print_json(ctx, plan_json(plan))
    source, target = safe_text(plan.source), safe_text(plan.target)
    counts = f"{len(plan.users)} user(s) and {len(plan.groups)} group(s)"
    if not plan.dry_run:
        ctx.out(f"transferred {counts} from '{source}' to '{target}'")
        return 0
    ctx.out(f"dry run: would transfer {counts} from '{source}' to '{target}' (nothing changed)")
    if plan.users_only:
        ctx.out(f"groups stay with '{source}' (--users-only)")
    rows = _plan_rows(plan)
    if rows:
        ctx.out(table(rows[:DRY_RUN_SHOWN], ["KIND", "NAME", "ID"]))
    if len(rows) > DRY_RUN_SHOWN:
        ctx.out(f"({DRY_RUN_SHOWN} of {len(rows)} listed; --json lists them all)")
    return 0


def plan_json(plan: TransferPlan) -> dict[str, Any]:
    return {
        "from": plan.source,
        "to": plan.target,
        "dry_run": plan.dry_run,
        "users_only": plan.users_only,
        "users": [{"id": i.id, "userName": i.name} for i in plan.users],
        "groups": [{"id": i.id, "displayName": i.name} for i in plan.groups],
    }


def _plan_rows(plan: TransferPlan) -> list[list[Any]]:
    users = [["user", item.name, item.id] for item in plan.users]
    return users + [["group", item.name, item.id] for item in plan.groups]
