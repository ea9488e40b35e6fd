"""``trident-scim db``: upgrade the schema (idempotent), show its state, back up and restore.

Translation only: the migration rules live in ``store.migrate``, the backup and restore
rules in ``store.services.backup``."""

from __future__ import annotations

import argparse

from cli.context import CliContext, CliError, add_json_flag, printable_url
from cli.output import print_json
from store.migrate import SchemaStatus, refuse_unusable, schema_status, upgrade
from store.services.backup import BackupResult, backup_database, restore_database
from store.version import VERSION


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema and maintenance")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    init = dbsub.add_parser(
        "init", help="apply pending migrations and create the default roles (idempotent)"
    )
    init.set_defaults(func=_init)
    up = dbsub.add_parser("upgrade", help="apply pending migrations (take a 'db backup' first)")
    up.set_defaults(func=_upgrade)
    status = dbsub.add_parser("status", help="the applied and the pending migrations")
    add_json_flag(status)
    status.set_defaults(func=_status)
    backup = dbsub.add_parser(
        "backup", help="write a consistent copy of the database to PATH (safe while serving)"
    )
    backup.add_argument("path", metavar="PATH", help="a new file (never overwritten)")
    backup.set_defaults(func=_backup)
    restore = dbsub.add_parser(
        "restore",
        help="replace the database's content with a backup (refused while the service runs)",
    )
    restore.add_argument("path", metavar="PATH", help="a file written by 'db backup'")
    restore.add_argument("--yes", action="store_true", help="confirm replacing the content")
    restore.add_argument(
        "--force",
        action="store_true",
        help="restore even while serve or worker processes hold the database",
    )
    restore.set_defaults(func=_restore)


def _apply(ctx: CliContext) -> None:
    database = ctx.settings.database
    applied = upgrade(database.url, database.busy_timeout_ms, file_mode=database.file_mode_bits)
    for name in applied:
        ctx.out(f"migration applied: {name}")
    current = schema_status(database.url, database.busy_timeout_ms).current
    ctx.out(f"database ready: {printable_url(database.url)} (schema {current})")


def _init(ctx: CliContext) -> int:
    from store.services.roles import ensure_default_roles

    _apply(ctx)
    created = ensure_default_roles(ctx.store())
    if created:
        ctx.out(f"roles created: {', '.join(created)}")
    return 0


def _upgrade(ctx: CliContext) -> int:
    _apply(ctx)
    return 0


def _status_json(status: SchemaStatus) -> dict[str, object]:
    return {"version": VERSION, "current": status.current, "applied": list(status.applied),
            "pending": list(status.pending), "unknown": list(status.unknown),
            "adopt": status.adopt}  # fmt: skip


def _status(ctx: CliContext) -> int:
    database = ctx.settings.database
    status = schema_status(database.url, database.busy_timeout_ms)
    if ctx.args.json:
        print_json(ctx, _status_json(status))
    else:
        ctx.out(f"database: {printable_url(database.url)}")
        ctx.out(f"current:  {status.current or '(empty: no migration applied)'}")
        for name in status.pending:
            note = (
                " (0.1.0 database: recorded, not run)"
                if status.adopt and name == status.pending[0]
                else ""
            )
            ctx.out(f"pending:  {name}{note}")
        for name in status.unknown:
            ctx.out(f"unknown:  {name} (applied by a newer release)")
        if not status.pending and not status.unknown:
            ctx.out("up to date")
    if status.unknown:
        refuse_unusable(status)  # the report above, then the one-line refusal, exit 2
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
    result = restore_database(ctx.settings, ctx.args.path, force=ctx.args.force)
    ctx.out(f"database restored from {_describe(result)}")
    return 0
