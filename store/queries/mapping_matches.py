"""Which IdP groups a group-to-role mapping row would match, for the mapping preview: the
groups of that name in the connection the row names, or in every connection when it names
none (``store.domain.roles.matches``, the one rule).

Read only. A connection name that no connection has matches nothing (the use case that
saves the row refuses it; the preview only says what exists).
"""

from __future__ import annotations

from dataclasses import dataclass

from store.context import Store
from store.domain.connections import name_key
from store.domain.names import fold, group_key
from store.domain.roles import matches
from store.tx import read

MAX_MATCHES = 100
"""Groups listed at most (one per connection at most: names are unique within one)."""


@dataclass(frozen=True)
class GroupMatch:
    connection: str  # the name of the connection that owns the group
    display_name: str
    member_count: int


@read
def matching_groups(
    store: Store, group_name: str, connection: str | None = None
) -> list[GroupMatch]:
    """The groups a mapping row for ``group_name`` (and ``connection``, None: any) matches,
    by connection name."""
    key = group_key(group_name or "")
    if not key:
        return []
    wanted: int | None = None
    if connection is not None:
        found = store.db.Connection.get(name_key=name_key(connection.strip()))
        if found is None or found.removed_at is not None:
            return []
        wanted = int(found.id)
    groups = store.db.Group.select(lambda g: g.display_name_key == key)[:MAX_MATCHES]
    found_groups = [
        GroupMatch(g.connection.name, g.display_name, int(g.member_count))
        for g in groups
        if matches(wanted, key, int(g.connection.id), g.display_name_key)
    ]
    return sorted(found_groups, key=lambda m: (fold(m.connection), m.display_name))


def describe_matches(found: list[GroupMatch], connection: str | None) -> str:
    """One line for the preview: which connection's groups the row matches."""
    where = "any connection" if connection is None else f"connection “{connection}”"
    if not found:
        return f"matches no group yet in {where}"
    parts = [f"“{m.display_name}” of {m.connection} ({m.member_count:,} member(s))" for m in found]
    return f"matches in {where}: " + ", ".join(parts)
