"""The data step that moves stored group-name keys to ``names.group_key``, for the migration
that ships it: it works on a plain DB-API connection (``sqlite3`` or ``psycopg2``) inside the
caller's transaction and never uses Pony, whose entities describe the newest schema.

Databases written before group names were matched by ``group_key`` hold ``names.fold`` keys
(NFKC + casefold, untrimmed) in three columns:

- ``scim_group.display_name_key`` (group displayName uniqueness, filters, the mapping match);
- ``sso_group_role_mapping.group_name_key`` (the mapping side of the match);
- ``control_role_assignment.via_group`` of ``source = 'idp'`` rows (the group a role came from).

``recompute_group_name_keys`` rewrites them with ``group_key``, stores group displayNames
trimmed, and removes the IdP role assignments that no mapping backs any more (a look-alike
group such as ``Ａdmins`` that received the roles of ``Admins``), with an audit event per user.
Roles the new rule grants (a group pushed as ``"Finance "``) are added by the worker's next
role reconciliation, which runs at start and every few minutes.

No two groups can end with one key: names equal under ``group_key`` were already equal under
``fold`` (NFKC composes canonically equivalent forms, casefold folds at least what lower case
does), and the previous release stored names and keys trimmed (Pony strips ``str`` columns).
Should a database hold such a pair anyway, the unique index refuses the update and the whole
step, in its one transaction, changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store import dbapi
from store.domain import limits
from store.domain.enums import AuditAction, GrantSource
from store.domain.names import group_key, trim

ACTOR = "system:upgrade"
_TEMPORARY = "rekey "  # a prefix no final key has (keys are trimmed): no clash between phases


@dataclass
class RekeyReport:
    groups_rekeyed: int = 0
    mappings_rekeyed: int = 0
    assignments_removed: int = 0


class _Sql:
    """Runs statements written with ``?`` placeholders on either driver."""

    def __init__(self, connection: dbapi.Connection) -> None:
        self.cursor = connection.cursor()
        self.sqlite = type(connection).__module__.startswith("sqlite3")

    def run(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            statement = statement.replace("%", "%%").replace("?", "%s")
        self.cursor.execute(statement, tuple(params))
        return list(self.cursor.fetchall()) if self.cursor.description else []

    def timestamp(self, value: datetime) -> datetime | str:
        return value.isoformat(" ", timespec="microseconds") if self.sqlite else value


def recompute_group_name_keys(connection: dbapi.Connection, now: datetime) -> RekeyReport:
    """Rewrite the group-name keys as described above; ``now`` (naive UTC) dates the audit."""
    sql, report = _Sql(connection), RekeyReport()
    renamed = _rekey_groups(sql, report)
    _rekey_via_group(sql, renamed)
    for mapping_id, name, key in sql.run(
        'SELECT "id", "group_name", "group_name_key" FROM "sso_group_role_mapping"'
    ):
        if group_key(name) != key:
            sql.run(
                'UPDATE "sso_group_role_mapping" SET "group_name_key" = ? WHERE "id" = ?',
                (group_key(name), mapping_id),
            )
            report.mappings_rekeyed += 1
    _drop_unbacked_assignments(sql, report, now)
    return report


def _rekey_groups(sql: _Sql, report: RekeyReport) -> dict[str, str]:
    """New keys and trimmed names for the groups; returns old key -> new key."""
    changes = [
        (group_id, trim(name), old_key, group_key(name))
        for group_id, name, old_key in sql.run(
            'SELECT "id", "display_name", "display_name_key" FROM "scim_group" ORDER BY "id"'
        )
        if old_key != group_key(name) or name != trim(name)
    ]
    for group_id, _name, _old, _new in changes:  # phase 1: out of every final key's way
        sql.run(
            'UPDATE "scim_group" SET "display_name_key" = ? WHERE "id" = ?',
            (_TEMPORARY + group_id, group_id),
        )
    for group_id, name, _old, new in changes:
        sql.run(
            'UPDATE "scim_group" SET "display_name_key" = ?, "display_name" = ? WHERE "id" = ?',
            (new, name, group_id),
        )
    report.groups_rekeyed = len(changes)
    return {old: new for _id, _name, old, new in changes if old != new}


def _rekey_via_group(sql: _Sql, renamed: dict[str, str]) -> None:
    if not renamed:
        return
    rows = sql.run(
        'SELECT "id", "via_group" FROM "control_role_assignment" WHERE "source" = ?',
        (GrantSource.IDP.value,),
    )
    moved = [(row_id, renamed[via]) for row_id, via in rows if via in renamed]
    for row_id, _new in moved:  # phase 1, as for the groups: (user, role, via) stays unique
        sql.run(
            'UPDATE "control_role_assignment" SET "via_group" = ? WHERE "id" = ?',
            (f"{_TEMPORARY}{row_id}", row_id),
        )
    for row_id, new in moved:
        sql.run(
            'UPDATE "control_role_assignment" SET "via_group" = ? WHERE "id" = ?', (new, row_id)
        )


_UNBACKED = (
    'SELECT a."id", a."user", u."user_name", a."role", a."via_group" '
    'FROM "control_role_assignment" a JOIN "scim_user" u ON u."id" = a."user" '
    'WHERE a."source" = ? AND NOT EXISTS (SELECT 1 FROM "sso_group_role_mapping" m '
    'WHERE m."group_name_key" = a."via_group" AND m."role" = a."role")'
)


def _drop_unbacked_assignments(sql: _Sql, report: RekeyReport, now: datetime) -> None:
    """Remove IdP role rows no mapping backs under the new keys; audit once per user."""
    lost: dict[tuple[str, str], list[str]] = {}
    for row_id, user_id, user_name, role, _via in sql.run(_UNBACKED, (GrantSource.IDP.value,)):
        sql.run('DELETE FROM "control_role_assignment" WHERE "id" = ?', (row_id,))
        lost.setdefault((user_id, user_name), []).append(role)
        report.assignments_removed += 1
    for (user_id, user_name), roles in sorted(lost.items()):
        _audit(sql, now, user_id, user_name, sorted(set(roles)))


def _audit(sql: _Sql, now: datetime, user_id: str, user_name: str, roles: Iterable[str]) -> None:
    detail = (
        "group names now match trimmed, NFC and case-insensitively, without compatibility "
        "folding: IdP role(s) no mapping gives any more removed"
    )
    sql.run(
        'INSERT INTO "audit_event" ("at", "actor", "action", "target_type", "target_id", '
        '"target_name", "before", "after", "detail") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        (sql.timestamp(now), ACTOR, AuditAction.ROLES_RECOMPUTED.value, "user", user_id,
         user_name[: limits.AUDIT_TARGET_NAME],
         json.dumps({"removed": list(roles)}), None, detail),
    )  # fmt: skip
