"""``trident-scim role``: list and create roles, grant and revoke manual roles.

Translation only (``store.services.roles``). A revoke never touches a role that comes from an
IdP group: the store refuses it with an explanation, printed as ``error: ...``.
"""

from __future__ import annotations

import argparse

from cli.context import CliContext, add_json_flag, add_user_argument, user_ref
from cli.output import print_json, table
from store.domain.display import safe_text
from store.queries.identity import list_roles
from store.services.roles import create_role, grant_role, revoke_role


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    role = sub.add_parser("role", help="roles and manual role grants")
    rsub = role.add_subparsers(dest="role_command", metavar="ACTION", required=True)
    listing = rsub.add_parser("list", help="list roles")
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    create = rsub.add_parser("create", help="add a role")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--description", default="", metavar="D")
    create.set_defaults(func=_create)
    grant = rsub.add_parser("grant", help="grant a manual role to a user")
    add_user_argument(grant)
    grant.add_argument("role", metavar="ROLE")
    grant.set_defaults(func=_grant)
    revoke = rsub.add_parser("revoke", help="revoke a manual role (IdP roles follow groups)")
    add_user_argument(revoke)
    revoke.add_argument("role", metavar="ROLE")
    revoke.set_defaults(func=_revoke)


def _list(ctx: CliContext) -> int:
    roles = list_roles(ctx.store())
    if ctx.args.json:
        return print_json(ctx, [{"name": r.name, "description": r.description} for r in roles])
    ctx.out(table([[r.name, r.description] for r in roles], ["ROLE", "DESCRIPTION"]))
    return 0


def _create(ctx: CliContext) -> int:
    record = create_role(ctx.store(), ctx.args.name, ctx.args.description, ctx.actor)
    ctx.out(f"role '{safe_text(record.name)}' created")
    return 0


def _grant(ctx: CliContext) -> int:
    ref, by_id = user_ref(ctx)
    user, role = safe_text(ref), safe_text(ctx.args.role)
    if grant_role(ctx.store(), ref, ctx.args.role, ctx.actor, by_id=by_id):
        ctx.out(f"granted {role} to {user} (manual)")
    else:
        ctx.out(f"{user} already holds {role} as a manual grant")
    return 0


def _revoke(ctx: CliContext) -> int:
    ref, by_id = user_ref(ctx)
    user, role = safe_text(ref), safe_text(ctx.args.role)
    if revoke_role(ctx.store(), ref, ctx.args.role, ctx.actor, by_id=by_id):
        ctx.out(f"revoked the manual grant of {role} from {user}")
    else:
        ctx.out(f"{user} does not hold {role}: nothing changed")
    return 0
