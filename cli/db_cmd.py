"""``trident-scim db``: create or upgrade the schema (idempotent)."""

from __future__ import annotations

import argparse

from cli.context import CliContext


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema and maintenance")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    init = dbsub.add_parser("init", help="create or upgrade the schema and seed default roles")
    init.set_defaults(func=_init)


def _init(ctx: CliContext) -> int:
    from store.services.roles import ensure_default_roles

    store = ctx.store(create=True)
    created = ensure_default_roles(store)
    ctx.out(f"database ready: {ctx.settings.database.url}")
    if created:
        ctx.out(f"roles created: {', '.join(created)}")
    return 0
