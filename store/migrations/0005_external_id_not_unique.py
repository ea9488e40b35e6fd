"""externalId is the client's value (RFC 7643 §3.1): the unique constraints on
scim_user.external_id and scim_group.external_id become plain indexes (filters still use them).

On SQLite a column constraint cannot be dropped in place, so both tables are rebuilt. That is
only safe with foreign keys off (dropping the old table must not cascade to memberships,
e-mails, sessions and role assignments): yoyo's SQLite connection never turns them on, and
the step refuses to run if they are."""

import sqlite3

from yoyo import step

from store import dbapi
from store.migrate import sql_step

__depends__ = {"0004_request_log_hits"}

NAME = "0005_external_id_not_unique"


def apply(connection: dbapi.Connection) -> None:
    if isinstance(connection, sqlite3.Connection):
        (enabled,) = connection.execute("PRAGMA foreign_keys").fetchone()
        if enabled:
            raise RuntimeError(f"{NAME} rebuilds tables: it must run with foreign keys off")
    sql_step(NAME)(connection)


steps = [step(apply)]
