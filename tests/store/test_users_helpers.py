"""Shared builders for the users, groups and filtering store tests (no tests in here)."""

from __future__ import annotations

from typing import Any

from pony.orm import db_session
from psycopg2.extras import Json, execute_values

from store.context import Store, naive_utc
from store.queries.filtering import json_param, sql_timestamp
from store.records import EmailInput, GroupInput, UserInput
from store.services.connections import default_connection
from store.services.roles import create_role, grant_role, set_mapping
from store.services.users import create_user
from store.sql import connection, statements_sent

ACTOR = "token:Okta SCIM"


def user_input(user_name: str, **fields: Any) -> UserInput:
    """An Okta-shaped create body as the API hands it to the store."""
    emails = fields.pop("emails", (EmailInput(user_name, "work", True),))
    document = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "locale": "en-US",
    }
    document.update(fields.pop("document", {}))
    return UserInput(user_name=user_name, document=document, emails=emails, **fields)


def new_user(store: Store, user_name: str, **fields: Any) -> str:
    return create_user(store, user_input(user_name, **fields), ACTOR).id


def group_input(name: str, **fields: Any) -> GroupInput:
    return GroupInput(display_name=name, document={"displayName": name}, **fields)


def mapped_role(store: Store, group_name: str, role: str) -> None:
    """A role mapped from an IdP group (the SSO group-to-role mapping)."""
    with db_session:
        exists = store.db.Role.get(name=role) is not None
    if not exists:
        create_role(store, role, "", "operator")
    set_mapping(store, group_name, role, "operator")


def grant_manual(store: Store, user_name: str, role: str) -> None:
    with db_session:
        exists = store.db.Role.get(name=role) is not None
    if not exists:
        create_role(store, role, "", "operator")
    assert grant_role(store, user_name, role, "operator")


def roles_of(store: Store, user_id: str) -> set[tuple[str, str]]:
    """{(role, source)} the user holds."""
    with db_session:
        user = store.db.User[user_id]
        return {(a.role.name, a.source) for a in user.role_assignments}


def audit_actions(store: Store, target_id: str) -> list[str]:
    with db_session:
        events = store.db.AuditEvent.select(lambda e: e.target_id == target_id)
        return [e.action for e in events.order_by(lambda e: e.id)]


def statement_count(store: Store) -> int:
    """Statements this thread has sent to the database so far (Pony's own counter)."""
    return statements_sent(store.db)


_BULK_COLUMNS = (
    "id", "connection_id", "user_name", "user_name_key", "active", "document", "created",
    "last_modified", "version",
)  # fmt: skip


def bulk_users(store: Store, count: int, prefix: str = "member") -> list[str]:
    """Many live users in one transaction (for tests about groups, not about creating): the
    rows Pony writes for ``User(id, connection, user_name, user_name_key, document,
    created, last_modified)``, sent as bound multi-row INSERTs (one statement per thousand
    rows on PostgreSQL; executemany on SQLite, in-process) instead of one per user."""
    from store.domain.names import fold

    ids: list[str] = []
    rows: list[tuple[Any, ...]] = []
    postgres = store.provider == "postgres"
    with db_session:
        now = naive_utc(store.clock())
        at = sql_timestamp(store, now)
        connection_id = default_connection(store, "test").id
        for i in range(count):
            name = f"{prefix}{i:05d}@example.com"
            user_id = store.new_id()
            document = {"userName": name}
            rows.append((
                user_id, connection_id, name, fold(name), True,
                Json(document) if postgres else json_param(document), at, at, 1,
            ))  # fmt: skip
            ids.append(user_id)
        cursor = connection(store.db).cursor()
        names = ", ".join(f'"{c}"' for c in _BULK_COLUMNS)
        insert = f'INSERT INTO "scim_user" ({names}) VALUES '
        if postgres:
            execute_values(cursor, insert + "%s", rows, page_size=1000)
        else:
            cursor.executemany(insert + f"({', '.join(['?'] * len(_BULK_COLUMNS))})", rows)
    return ids
