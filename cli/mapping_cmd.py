"""``trident-scim mapping``: the SSO group-to-role mapping (IdP group name -> role).

Translation only (``store.services.roles``). Setting or removing a row recomputes the IdP
roles of the group's members in batches, each committed as it goes, with progress on stderr;
``mapping preview`` shows who would gain or lose which role before anything changes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from cli.context import CliContext, add_json_flag, iso_utc, table
from store.domain.display import safe_text
from store.queries.identity import list_mappings
from store.services.roles import preview_mapping_change, remove_mapping, set_mapping


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mapping = sub.add_parser("mapping", help="the SSO group-to-role mapping")
    msub = mapping.add_subparsers(dest="mapping_command", metavar="ACTION", required=True)
    setter = msub.add_parser("set", help="map an IdP group to a role")
    setter.add_argument("group", metavar="GROUP", help="IdP group name (any case)")
    setter.add_argument("role", metavar="ROLE")
    setter.set_defaults(func=_set)
    remove = msub.add_parser("remove", help="remove one group-to-role row")
    remove.add_argument("group", metavar="GROUP")
    remove.add_argument("role", metavar="ROLE")
    remove.set_defaults(func=_remove)
    listing = msub.add_parser("list", help="list the mapping")
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    preview = msub.add_parser("preview", help="who would gain or lose roles (changes nothing)")
    for flag in ("--add", "--remove"):
        preview.add_argument(flag, nargs=2, action="append", default=[], metavar=("GROUP", "ROLE"))
    add_json_flag(preview)
    preview.set_defaults(func=_preview)


def _progress(ctx: CliContext) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        ctx.note(f"IdP roles recomputed: {done}/{total} user(s)")

    return report


def _set(ctx: CliContext) -> int:
    args = ctx.args
    record = set_mapping(ctx.store(), args.group, args.role, ctx.actor, _progress(ctx))
    ctx.out(f"IdP group '{safe_text(record.group_name)}' -> role {safe_text(record.role)}")
    return 0


def _remove(ctx: CliContext) -> int:
    group, role = safe_text(ctx.args.group), safe_text(ctx.args.role)
    if remove_mapping(ctx.store(), ctx.args.group, ctx.args.role, ctx.actor, _progress(ctx)):
        ctx.out(f"removed IdP group '{group}' -> role {role}")
    else:
        ctx.out(f"no mapping '{group}' -> {role}: nothing changed")
    return 0


def _list(ctx: CliContext) -> int:
    rows = list_mappings(ctx.store())
    if ctx.args.json:
        data = [
            {
                "group": m.group_name,
                "role": m.role,
                "created": iso_utc(m.created),
                "created_by": m.created_by,
            }
            for m in rows
        ]
        ctx.out(json.dumps(data, indent=2))
        return 0
    if not rows:
        ctx.out("no mapping yet: trident-scim mapping set GROUP ROLE")
        return 0
    ctx.out(table([[m.group_name, m.role, m.created_by] for m in rows], ["GROUP", "ROLE", "BY"]))
    return 0


def _preview(ctx: CliContext) -> int:
    add = [(g, r) for g, r in ctx.args.add]
    remove = [(g, r) for g, r in ctx.args.remove]
    changes = preview_mapping_change(ctx.store(), add, remove)
    if ctx.args.json:
        data = [{"userName": u, "role": r, "change": c} for u, r, c in changes]
        ctx.out(json.dumps(data, indent=2))
        return 0
    if not changes:
        ctx.out("no user would gain or lose a role")
        return 0
    ctx.out(table([list(c) for c in changes], ["USER", "ROLE", "CHANGE"]))
    return 0
