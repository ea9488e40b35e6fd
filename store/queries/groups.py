"""Reading SCIM Groups: one group, or a filtered and paged listing, members optional.

Members come from the membership rows in one query per call (per page for listings), ordered
by the member's folded userName then id, so a group of 10,000 is one round trip. Reads never
write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from store import entities
from store.context import Store, as_utc
from store.domain.criteria import Criteria, Sort
from store.domain.ids import is_resource_id
from store.domain.json_values import detached
from store.domain.names import fold, group_key
from store.domain.scope import OPERATOR, Scope
from store.errors import NotFound
from store.queries.filter_catalogue import GROUPS
from store.queries.filtering import (
    group_filter,
    linked,
    order_by,
    page_of_rows,
    scope_column,
    sql_datetime,
    sql_json,
)
from store.queries.users import MAX_OFFSET
from store.records import GroupRecord, MemberRef, Page
from store.tx import read

_MEMBERS_OF = (
    'SELECT m."group", u."id", u."user_name", u."user_name_key" '
    'FROM "scim_membership" m JOIN "scim_user" u ON u."id" = m."user"'
)


def members_of(
    store: Store, group_ids: Iterable[str], scope: Scope = OPERATOR
) -> dict[str, tuple[MemberRef, ...]]:
    """The members ``scope`` sees of several groups in one query (per 500 groups)."""
    found = linked(store, _MEMBERS_OF, 'm."group"', group_ids, scope_column(scope, "u"))
    return {gid: tuple(MemberRef(uid, name) for uid, name in pairs) for gid, pairs in found.items()}


def group_record(
    group: entities.GroupColumns, members: tuple[MemberRef, ...] | None
) -> GroupRecord:
    return GroupRecord(
        id=group.id,
        display_name=group.display_name,
        external_id=group.external_id,
        document=detached(group.document),
        created=as_utc(group.created),
        last_modified=as_utc(group.last_modified),
        version=group.version,
        member_count=group.member_count,
        members=members,
    )


@read
def get_group(
    store: Store, group_id: str, include_members: bool = True, scope: Scope = OPERATOR
) -> GroupRecord:
    """One group ``scope`` sees (with the members it sees), or NotFound."""
    group = store.db.Group.get(id=group_id) if is_resource_id(group_id) else None
    if group is None or not scope.sees(group.connection.id):
        raise NotFound(f"group {group_id} not found")
    members = members_of(store, [group.id], scope).get(group.id, ()) if include_members else None
    return group_record(group, members)


@read
def list_groups(
    store: Store,
    criteria: Criteria | None,
    start_index: int,
    count: int,
    sort: Sort | None = None,
    include_members: bool = True,
    scope: Scope = OPERATOR,
) -> Page[GroupRecord]:
    """One page of the groups ``scope`` sees matching ``criteria``, RFC 7644 paging,
    stable order."""
    start_index = min(max(start_index, 1), MAX_OFFSET)
    count = max(count, 0)
    where = group_filter(criteria, store.provider, scope)
    order = order_by(sort, GROUPS, store.provider)
    paging = (order, start_index, count)
    source = ("scim_group", GROUPS.alias)
    rows, total = page_of_rows(store, source, _COLUMNS, where.sql, where.params, paging)
    ids = [row[0] for row in rows]
    members = members_of(store, ids, scope) if include_members and ids else {}
    items = tuple(
        _row_record(row, members.get(row[0], ()) if include_members else None) for row in rows
    )
    return Page(items=items, total=total, start_index=start_index)


_COLUMNS = (
    "id", "display_name", "external_id", "document", "created", "last_modified", "version",
    "member_count",
)  # fmt: skip


def _row_record(row: tuple[Any, ...], members: tuple[MemberRef, ...] | None) -> GroupRecord:
    gid, display_name, external_id, document, created, modified, version, count = row
    return GroupRecord(
        id=gid,
        display_name=display_name,
        external_id=external_id,
        document=sql_json(document),
        created=sql_datetime(created),
        last_modified=sql_datetime(modified),
        version=int(version),
        member_count=int(count),
        members=members,
    )


KNOWN_GROUPS_LIMIT = 10_000
"""Group names the mapping editor loads at most to check a typed name against."""


@dataclass(frozen=True)
class GroupMatch:
    """A group a mapping row of some name would match, with its connection."""

    connection: str
    display_name: str
    member_count: int


@read
def groups_named(store: Store, group_name: str, connection: str | None = None) -> list[GroupMatch]:
    """The groups (of every connection, or of the one named) whose name matches
    ``group_name`` as a mapping row matches it (``names.group_key``), by connection name:
    what a mapping preview shows it would apply to. An unknown ``connection`` matches none."""
    key = group_key(group_name or "")
    groups = store.db.Group.select(lambda g: g.display_name_key == key)
    found = [
        GroupMatch(g.connection.name, g.display_name, int(g.member_count))
        for g in groups
        if connection is None or fold(g.connection.name) == fold(connection.strip())
    ]
    return sorted(found, key=lambda m: (fold(m.connection), m.display_name))


@read
def group_sizes(store: Store, limit: int = KNOWN_GROUPS_LIMIT) -> dict[str, int]:
    """Display name -> member count of the groups the IdPs have pushed, in name order
    (for the mapping editor: is a typed group known, and how large is it); groups of one
    name in several connections count together (``groups_named`` tells them apart)."""
    query = store.db.Group.select().order_by(lambda g: g.display_name_key)
    sizes: dict[str, int] = {}
    for group in query[: max(1, limit)]:
        sizes[group.display_name] = sizes.get(group.display_name, 0) + int(group.member_count)
    return sizes
