"""IdP connections: a ``scim_connection`` table; every token, user and group belongs to one;
group names are unique within a connection; a mapping row may name a connection (NULL: any);
the request log records the connection of each request.

Existing data: each distinct token name (folded, as token names compare) becomes a
connection of that name owning its tokens, revoked ones included. Each user and group goes
to the connection of the token whose ``token:NAME`` created it (the audit's ``user.created``
and ``group.created`` events); anything whose creator is unknown goes to a connection named
``default`` (``default-2`` if a token is called ``default``), made only when something
needs it. On SQLite four tables are rebuilt, which is
only safe with foreign keys off (yoyo's SQLite connection never turns them on; the step
refuses to run if they are)."""

import sqlite3
from datetime import UTC, datetime
from typing import Any

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0005_external_id_not_unique", "0006_pending_recompute"}

NAME = "0007_connections"
DEFAULT = "default"
TOKEN_ACTOR = "token:"  # noqa: S105  (how the audit names a token's requests)


class _Sql:
    """Statements written with ``?`` placeholders on either driver."""

    def __init__(self, connection: Any) -> None:
        self.cursor = connection.cursor()
        self.sqlite = isinstance(connection, sqlite3.Connection)

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            statement = statement.replace("%", "%%").replace("?", "%s")
        self.cursor.execute(statement, params)
        return list(self.cursor.fetchall()) if self.cursor.description else []


def _fold(name: str) -> str:
    from store.domain.names import fold  # pure: the rule token names already compare by

    return fold(name)


class _Connections:
    """Connections by folded name, created as first needed."""

    def __init__(self, sql: _Sql, now: Any) -> None:
        self.sql, self.now = sql, now
        self.ids: dict[str, int] = {}

    def id_of(self, name: str) -> int:
        key = _fold(name)[:256]
        if key not in self.ids:
            self.sql.run(
                'INSERT INTO "scim_connection" ("name", "name_key", "kind", "created_at") '
                "VALUES (?, ?, NULL, ?)",
                (name.strip()[:256], key, self.now),
            )
            found = self.sql.run('SELECT "id" FROM "scim_connection" WHERE "name_key" = ?', (key,))
            self.ids[key] = int(found[0][0])
        return int(self.ids[key])


def _own(sql: _Sql, kind: str, target_id: str, connection_id: int) -> None:
    sql.run(
        'INSERT INTO "connection_owner_0007" ("target_type", "target_id", "connection_id") '
        "VALUES (?, ?, ?)",
        (kind, target_id, connection_id),
    )


def _creators(sql: _Sql, kind: str) -> dict[str, str]:
    """Resource id -> the token name of the actor of its first creation event."""
    found: dict[str, str] = {}
    rows = sql.run(
        'SELECT "target_id", "actor" FROM "audit_event" WHERE "action" = ? '
        'AND "target_type" = ? ORDER BY "at", "id"',
        (f"{kind}.created", kind),
    )
    for target_id, actor in rows:
        if str(target_id) not in found and str(actor).startswith(TOKEN_ACTOR):
            found[str(target_id)] = str(actor)[len(TOKEN_ACTOR) :]
    return found


def backfill(connection: Any, now: Any) -> None:
    """Fill ``scim_connection`` and the ownership staging table (see the module doc)."""
    sql = _Sql(connection)
    connections = _Connections(sql, now)
    token_names: dict[str, str] = {}  # folded token name -> the name as the oldest token has it
    for token_id, name in sql.run('SELECT "id", "name" FROM "scim_token" ORDER BY "id"'):
        token_names.setdefault(_fold(name), name)
        _own(sql, "token", str(token_id), connections.id_of(token_names[_fold(name)]))
    fallback = _fallback_name(token_names)
    for kind, table in (("user", "scim_user"), ("group", "scim_group")):
        creators = _creators(sql, kind)
        for (resource_id,) in sql.run(f'SELECT "id" FROM "{table}" ORDER BY "id"'):  # noqa: S608
            creator = _fold(creators.get(str(resource_id), ""))
            name = token_names.get(creator, fallback) if creator else fallback
            _own(sql, kind, str(resource_id), connections.id_of(name))


def _fallback_name(token_names: dict[str, str]) -> str:
    """``default``, unless a token already goes by that name: then ``default-2`` (or the
    next number free), so what no token created is never handed to an IdP's connection."""
    name, number = DEFAULT, 1
    while _fold(name) in token_names:
        number += 1
        name = f"{DEFAULT}-{number}"
    return name


def apply(connection: Any) -> None:
    sqlite = isinstance(connection, sqlite3.Connection)
    if sqlite:
        (enabled,) = connection.execute("PRAGMA foreign_keys").fetchone()
        if enabled:
            raise RuntimeError(f"{NAME} rebuilds tables: it must run with foreign keys off")
    moment = datetime.now(UTC).replace(tzinfo=None)
    sql_step(NAME)(connection)
    backfill(connection, moment.isoformat(" ", timespec="microseconds") if sqlite else moment)
    sql_step(f"{NAME}_owners")(connection)


steps = [step(apply)]
