"""``trident-scim user``: show one user (roles with their source, groups, sessions, audit),
list and search users, and deactivate or reactivate one as an operator.

Translation only: deactivation and reactivation go through ``store.services.lifecycle``,
the same code the IdP's requests use, with the operator as the recorded actor.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import CliContext, add_json_flag, add_user_argument, user_ref
from cli.output import iso_utc, print_json, table
from store.domain.active import describe
from store.domain.display import safe_text
from store.domain.enums import GrantSource
from store.queries.directory import search_users
from store.queries.identity import user_detail, user_id_for
from store.records import UserDetail
from store.services.lifecycle import deactivate_user, reactivate_user


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="provisioned users")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    show = usub.add_parser("show", help="one user: roles, groups, sessions, audit history")
    add_user_argument(show)
    show.add_argument("--events", type=int, default=20, metavar="N", help="audit events shown")
    add_json_flag(show)
    show.set_defaults(func=_show)
    listing = usub.add_parser("list", help="list users (not deleted ones)")
    listing.add_argument("--search", default="", metavar="TEXT", help="in userName or name")
    listing.add_argument("--limit", type=int, default=100, metavar="N")
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    deactivate = usub.add_parser(
        "deactivate", help="deactivate and hold: sessions end, IdP roles go, the IdP cannot undo it"
    )
    add_user_argument(deactivate)
    deactivate.add_argument(
        "--reason", default="operator", metavar="TEXT", help="recorded with the hold and audit"
    )
    deactivate.set_defaults(func=_deactivate)
    reactivate = usub.add_parser(
        "reactivate", help="lift the hold and reactivate: IdP roles come back"
    )
    add_user_argument(reactivate)
    reactivate.add_argument("--reason", default="operator", metavar="R")
    reactivate.set_defaults(func=_reactivate)


def detail_json(detail: UserDetail) -> dict[str, Any]:
    user = detail.user
    return {
        "id": user.id,
        "userName": user.user_name,
        "displayName": user.display_name,
        "externalId": user.external_id,
        "connection": detail.connection,
        "active": user.active,
        "deleted": detail.deleted,
        "roles": [
            {"name": r.role, "source": r.source, "group": r.via_group, "granted_by": r.granted_by}
            for r in detail.roles
        ],
        "groups": [g.display_name for g in user.groups],
        "active_sessions": detail.active_sessions,
        "hold": _hold_json(detail),
        "renames": [
            {
                "at": iso_utc(e.at),
                "actor": e.actor,
                "from": (e.before or {}).get("userName"),
                "to": (e.after or {}).get("userName"),
                "manual_roles": (e.after or {}).get("manual_roles", []),
            }
            for e in detail.renames
        ],
        "audit": [
            {
                "at": iso_utc(e.at),
                "actor": e.actor,
                "action": e.action,
                "detail": e.detail,
                "before": e.before,
                "after": e.after,
            }
            for e in detail.audit
        ],
        "created": iso_utc(user.created),
        "lastModified": iso_utc(user.last_modified),
    }


def _hold_json(detail: UserDetail) -> dict[str, Any] | None:
    hold = detail.hold
    if hold is None:
        return None
    return {
        "since": iso_utc(hold.since),
        "by": hold.by,
        "reason": hold.reason,
        "idp_active": hold.idp_active,
    }


def _show(ctx: CliContext) -> int:
    ref, by_id = user_ref(ctx)
    detail = user_detail(ctx.store(), ref, audit_limit=ctx.args.events, by_id=by_id)
    data = detail_json(detail)
    if ctx.args.json:
        return print_json(ctx, data)
    _show_text(ctx, detail, data)
    return 0


def _show_text(ctx: CliContext, detail: UserDetail, data: dict[str, Any]) -> None:
    # Every value below may come from the IdP: each is rendered terminal-safe on its own
    # line, so a displayName cannot fake a status or a line of its own.
    s = safe_text
    state = "deleted" if detail.deleted else describe(detail.user.active)
    state += ", operator hold" if detail.hold is not None else ""
    ctx.out(f"{s(data['userName'])}  ({state})")
    ctx.out(f"  id:              {s(data['id'])}")
    ctx.out(f"  displayName:     {s(data['displayName'])}")
    ctx.out(f"  connection:      {s(data['connection'])}")
    ctx.out(f"  groups:          {', '.join(s(g) for g in data['groups']) or '-'}")
    ctx.out(f"  active sessions: {data['active_sessions']}")
    if (hold := data["hold"]) is not None:
        idp = {True: "active", False: "inactive", None: "nothing sent since"}[hold["idp_active"]]
        ctx.out(
            f"  operator hold:   since {hold['since']} by {s(hold['by'])} ('{s(hold['reason'])}'); "
            f"the IdP says: {idp}; access stays off until `user reactivate`"
        )
    ctx.out("  roles:")
    for r in data["roles"]:
        ctx.out(f"    {s(r['name']):<12} {r['source']:<9} {_role_origin(r)}")
    if not data["roles"]:
        ctx.out("    (none)")
    for rename in data["renames"]:
        ctx.out(
            f"  RENAMED {rename['at']} by {s(rename['actor'])}: '{s(rename['from'])}' -> "
            f"'{s(rename['to'])}' while holding manual role(s) "
            f"{', '.join(s(r) for r in rename['manual_roles'])}"
        )
    ctx.out("  recent audit events:")
    for e in data["audit"]:
        ctx.out(f"    {e['at']}  {s(e['actor'])}  {s(e['action'])}  {s(e['detail'])}".rstrip())


def _role_origin(role: dict[str, Any]) -> str:
    """Where a role comes from: the IdP group's name or the granting operator, escaped."""
    if role["source"] == GrantSource.IDP:
        return f"via IdP group {safe_text(role['group'])}"
    by = safe_text(role["granted_by"])
    if role["source"] == GrantSource.SUSPENDED:
        return (
            f"by {by}, suspended after a userName change: not in effect "
            "until confirmed with `role grant`"
        )
    return f"by {by}"


def _list(ctx: CliContext) -> int:
    page = search_users(ctx.store(), ctx.args.search, 0, ctx.args.limit)
    if ctx.args.json:
        data = [
            {
                "id": u.id,
                "userName": u.user_name,
                "displayName": u.display_name,
                "active": u.active,
                "roles": [
                    {"name": r.role, "source": r.source, "group": r.via_group} for r in u.roles
                ],
            }
            for u in page.items
        ]
        return print_json(ctx, data)
    rows = [
        [
            u.user_name,
            u.display_name or "",
            describe(u.active),
            ", ".join(sorted({r.role for r in u.roles})),
            u.id,
        ]
        for u in page.items
    ]
    ctx.out(table(rows, ["USERNAME", "DISPLAY NAME", "STATUS", "ROLES", "ID"]))
    if page.total > len(page.items):
        ctx.out(f"({len(page.items)} of {page.total} users shown; narrow with --search)")
    return 0


def _deactivate(ctx: CliContext) -> int:
    store = ctx.store()
    ref, by_id = user_ref(ctx)
    user_id = user_id_for(store, ref, by_id=by_id)
    if deactivate_user(store, user_id, ctx.actor, ctx.args.reason):
        ctx.out(
            f"{safe_text(ref)} deactivated and held: sessions ended, IdP roles removed; the "
            "IdP cannot reactivate them until `user reactivate`"
        )
    else:
        ctx.out(f"{safe_text(ref)} was already inactive and held")
    return 0


def _reactivate(ctx: CliContext) -> int:
    store = ctx.store()
    ref, by_id = user_ref(ctx)
    user_id = user_id_for(store, ref, by_id=by_id)
    if reactivate_user(store, user_id, ctx.actor, ctx.args.reason):
        ctx.out(f"{safe_text(ref)} reactivated: IdP roles restored from group memberships")
    else:
        ctx.out(f"{safe_text(ref)} was already active")
    return 0
