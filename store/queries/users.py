"""Reading SCIM Users: one user, a filtered and paged listing, a lookup by userName.

Deleted users are invisible here (NotFound, absent from listings); inactive users are always
visible, because IdPs look a user up before creating it. Reads never write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeGuard

from store import entities
from store.context import Store
from store.domain.active import stored_state
from store.domain.criteria import Criteria, Sort
from store.domain.ids import is_resource_id
from store.domain.json_values import detached
from store.domain.names import fold
from store.domain.scope import OPERATOR, Scope
from store.errors import NotFound
from store.queries.filter_catalogue import USERS
from store.queries.filtering import (
    linked,
    order_by,
    page_of_rows,
    scope_column,
    sql_datetime,
    sql_json,
    user_filter,
)
from store.records import GroupRef, Page, UserRecord
from store.tx import read

MAX_OFFSET = 2**62
"""Larger startIndex values cannot match anything and would overflow a 64-bit OFFSET."""


_GROUPS_OF = (
    'SELECT m."user", g."id", g."display_name", g."display_name_key" '
    'FROM "scim_membership" m JOIN "scim_group" g ON g."id" = m."group"'
)


def groups_of(
    store: Store, user_ids: Iterable[str], scope: Scope = OPERATOR
) -> dict[str, tuple[GroupRef, ...]]:
    """The groups of several users in one query, each user's ordered by name then id; only
    the groups ``scope`` sees."""
    found = linked(store, _GROUPS_OF, 'm."user"', user_ids, scope_column(scope, "g"))
    return {uid: tuple(GroupRef(gid, name) for gid, name in pairs) for uid, pairs in found.items()}


def user_record(
    store: Store,
    user: entities.User,
    groups: tuple[GroupRef, ...] | None = None,
    scope: Scope = OPERATOR,
) -> UserRecord:
    """The frozen record of a User entity; loads its groups (those ``scope`` sees) unless
    given."""
    if groups is None:
        groups = groups_of(store, [user.id], scope).get(user.id, ())
    return row_record(tuple(getattr(user, column) for column in _COLUMNS), groups)


def _visible(user: entities.User | None, scope: Scope) -> TypeGuard[entities.User]:
    return user is not None and user.deleted_at is None and scope.sees(user.connection.id)


@read
def get_user(store: Store, user_id: str, scope: Scope = OPERATOR) -> UserRecord:
    """One live user ``scope`` sees, or NotFound (another connection's user too)."""
    user = store.db.User.get(id=user_id) if is_resource_id(user_id) else None
    if not _visible(user, scope):
        raise NotFound(f"user {user_id} not found")
    return user_record(store, user, scope=scope)


@read
def find_user(store: Store, user_name: str, scope: Scope = OPERATOR) -> UserRecord | None:
    """The live user ``scope`` sees whose userName matches case-insensitively, if any."""
    user = store.db.User.get(user_name_key=fold(user_name))
    if not _visible(user, scope):
        return None
    return user_record(store, user, scope=scope)


@read
def list_users(
    store: Store,
    criteria: Criteria | None,
    start_index: int,
    count: int,
    sort: Sort | None = None,
    scope: Scope = OPERATOR,
) -> Page[UserRecord]:
    """One page of the live users ``scope`` sees matching ``criteria`` (RFC 7644 §3.4.2.4
    paging: 1-based ``start_index``, ``count`` 0 gives only the total), in a stable order;
    the total counts only those users too."""
    start_index = min(max(start_index, 1), MAX_OFFSET)
    count = max(count, 0)
    where = user_filter(criteria, store.provider, scope)
    live = f'{USERS.alias}."deleted_at" IS NULL AND {where.sql}'
    order = order_by(sort, USERS, store.provider)
    paging = (order, start_index, count)
    source = ("scim_user", USERS.alias)
    rows, total = page_of_rows(store, source, _COLUMNS, live, where.params, paging, _IN_A_GROUP)
    members = [row[0] for row in rows if row[-1]]
    groups = groups_of(store, members, scope) if members else {}
    items = tuple(row_record(row[:-1], groups.get(row[0], ())) for row in rows)
    return Page(items=items, total=total, start_index=start_index)


_IN_A_GROUP = (f'EXISTS (SELECT 1 FROM "scim_membership" m WHERE m."user" = {USERS.alias}."id")',)
"""Read with a listed user: whether it is a member of any group at all. The groups query
runs only for the users on the page that are (it alone decides which groups a scope sees)."""

_COLUMNS = (
    "id", "user_name", "external_id", "display_name", "active", "document", "created",
    "last_modified", "version",
)  # fmt: skip


def row_record(row: tuple[Any, ...], groups: tuple[GroupRef, ...]) -> UserRecord:
    """The one UserRecord builder: ``_COLUMNS`` values as an entity holds them, as a raw
    statement returns them (SQLite hands timestamps and JSON back as text), or as a use case
    has just written them."""
    uid, user_name, external_id, display_name, active, document, created, modified, version = row
    # JSON text (SQLite's raw rows) parses into a value of its own; any other value may be
    # an entity's tracked one or a caller's, so the record gets a copy.
    document = sql_json(document) if isinstance(document, str | bytes) else detached(document)
    return UserRecord(
        id=uid,
        user_name=user_name,
        external_id=external_id,
        display_name=display_name,
        active=stored_state(bool(active), document),
        document=document,
        created=sql_datetime(created),
        last_modified=sql_datetime(modified),
        version=int(version),
        groups=groups,
    )
