"""``trident-scim db``: create or upgrade the schema (idempotent), back up and restore.

Translation only: the backup and restore rules live in ``store.services.backup``."""

from __future__ import annotations

import argparse

from cli.context import CliContext, CliError, printable_url
from store.services.backup import BackupResult, backup_database, restore_database


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema and maintenance")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    init = dbsub.add_parser("init", help="create or upgrade the schema and seed default roles")
    init.set_defaults(func=_init)
    backup = dbsub.add_parser(
        "backup", help="write a consistent copy of the database to PATH (safe while serving)"
    )
    backup.add_argument("path", metavar="PATH", help="a new file (never overwritten)")
    backup.set_defaults(func=_backup)
    restore = dbsub.add_parser(
        "restore", help="replace the database's content with a backup (stop the service first)"
    )
    restore.add_argument("path", metavar="PATH", help="a file written by 'db backup'")
    restore.add_argument("--yes", action="store_true", help="confirm replacing the content")
    restore.set_defaults(func=_restore)


def _init(ctx: CliContext) -> int:
    from store.services.roles import ensure_default_roles

    store = ctx.store(create=True)
    created = ensure_default_roles(store)
    ctx.out(f"database ready: {printable_url(ctx.settings.database.url)}")
    if created:
        ctx.out(f"roles created: {', '.join(created)}")
    return 0


def _describe(result: BackupResult) -> str:
    counts = ""
    if result.users is not None:
        counts = f", {result.users} users, {result.groups} groups"
    return f"{result.path} ({result.size_bytes} bytes{counts})"


def _backup(ctx: CliContext) -> int:
    result = backup_database(ctx.settings, ctx.args.path)
    ctx.out(f"backup written: {_describe(result)}")
    return 0


def _restore(ctx: CliContext) -> int:
    if not ctx.args.yes:
        raise CliError(
            "restore replaces every user, group, token and session with the backup's; "
            "stop the service, then run again with --yes"
        )
    result = restore_database(ctx.settings, ctx.args.path)
    ctx.out(f"database restored from {_describe(result)}")
    return 0
