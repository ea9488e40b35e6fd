"""``trident-scim mapping``: the SSO group-to-role mapping (IdP group name -> role).

Translation only (``store.services.roles``). Setting or removing a row recomputes the IdP
roles of the group's members in batches, each committed as it goes, with progress on stderr;
``mapping preview`` shows who would gain or lose which role before anything changes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from cli.context import CliContext, add_json_flag, connection_name
from cli.output import iso_utc, print_listing
from store.domain.display import safe_text
from store.domain.roles import mapping_connection_label
from store.queries.groups import groups_named
from store.queries.identity import list_mappings
from store.services.roles import (
    MappingEdit,
    preview_mapping_change,
    remove_mapping,
    set_mapping,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mapping = sub.add_parser("mapping", help="the SSO group-to-role mapping")
    msub = mapping.add_subparsers(dest="mapping_command", metavar="ACTION", required=True)
    setter = msub.add_parser("set", help="map an IdP group to a role")
    setter.add_argument("group", metavar="GROUP", help="IdP group name (any case)")
    setter.add_argument("role", metavar="ROLE")
    _connection_option(setter, "match GROUP among this connection's groups only (default: any)")
    setter.set_defaults(func=_set)
    remove = msub.add_parser("remove", help="remove one group-to-role row")
    remove.add_argument("group", metavar="GROUP")
    remove.add_argument("role", metavar="ROLE")
    _connection_option(remove, "the row for this connection (default: the row for any)")
    remove.set_defaults(func=_remove)
    listing = msub.add_parser("list", help="list the mapping")
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    preview = msub.add_parser("preview", help="who would gain or lose roles (changes nothing)")
    for flag in ("--add", "--remove"):
        preview.add_argument(flag, nargs=2, action="append", default=[], metavar=("GROUP", "ROLE"))
    _connection_option(preview, "the rows added or removed name this connection (default: any)")
    add_json_flag(preview)
    preview.set_defaults(func=_preview)


def _connection_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--connection", metavar="CONN", help=help_text)


def _progress(ctx: CliContext) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        ctx.note(f"IdP roles recomputed: {done}/{total} user(s)")

    return report


def _set(ctx: CliContext) -> int:
    args = ctx.args
    record = set_mapping(
        ctx.store(), args.group, args.role, ctx.actor, _progress(ctx), connection=_connection(ctx)
    )
    ctx.out(
        f"IdP group '{safe_text(record.group_name)}' -> role {safe_text(record.role)} "
        f"(groups of {_where(record.connection)})"
    )
    return 0


def _remove(ctx: CliContext) -> int:
    args = ctx.args
    group, role = safe_text(args.group), safe_text(args.role)
    connection = _connection(ctx)
    where = _where(connection)
    removed = remove_mapping(
        ctx.store(), args.group, args.role, ctx.actor, _progress(ctx), connection=connection
    )
    if removed:
        ctx.out(f"removed IdP group '{group}' -> role {role} (groups of {where})")
    else:
        ctx.out(f"no mapping '{group}' -> {role} for {where}: nothing changed")
    return 0


def _list(ctx: CliContext) -> int:
    return print_listing(
        ctx,
        list_mappings(ctx.store()),
        as_json=lambda m: {
            "group": m.group_name,
            "role": m.role,
            "created": iso_utc(m.created),
            "created_by": m.created_by,
            "connection": m.connection,
        },
        as_row=lambda m: [
            m.group_name,
            m.role,
            mapping_connection_label(m.connection),
            m.created_by,
        ],
        headers=["GROUP", "ROLE", "CONNECTION", "BY"],
        empty="no mapping yet: trident-scim mapping set GROUP ROLE",
    )


def _connection(ctx: CliContext) -> str | None:
    value = ctx.args.connection
    return None if value is None else connection_name(value, "--connection")


def _where(connection: str | None) -> str:
    return "any connection" if connection is None else f"connection '{safe_text(connection)}'"


def _matched(ctx: CliContext, group: str, connection: str | None) -> str:
    """Which connection's groups a row for ``group`` matches (one line, names escaped)."""
    found = groups_named(ctx.store(), group, connection)
    groups = ", ".join(
        f"'{safe_text(m.display_name)}' of {safe_text(m.connection)} ({m.member_count} member(s))"
        for m in found
    )
    return f"'{safe_text(group)}' in {_where(connection)} matches: {groups or 'no group yet'}"


def _preview(ctx: CliContext) -> int:
    connection = _connection(ctx)
    add: list[MappingEdit] = [(g, r, connection) for g, r in ctx.args.add]
    remove: list[MappingEdit] = [(g, r, connection) for g, r in ctx.args.remove]
    changes = preview_mapping_change(ctx.store(), add, remove)
    for group in dict.fromkeys(edit[0] for edit in add + remove):
        ctx.note(_matched(ctx, group, connection))
    return print_listing(
        ctx,
        changes,
        as_json=lambda c: {"userName": c[0], "role": c[1], "change": c[2]},
        as_row=list,
        headers=["USER", "ROLE", "CHANGE"],
        empty="no user would gain or lose a role",
    )
