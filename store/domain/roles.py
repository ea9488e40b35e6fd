"""Which roles a user holds through IdP groups: memberships + the SSO mapping -> roles.

Pure. Recomputation only ever produces the IdP-derived set, and the use case persists the
difference to that set alone; manual grants are an operator's (``revocable_roles``,
``grantable_roles``: what the console offers to revoke and grant by hand).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from store.domain.enums import GrantSource


@dataclass(frozen=True, order=True)
class IdpGrant:
    role: str
    via_group: str  # folded IdP group name the role comes from


OPERATOR_SOURCES = frozenset({GrantSource.MANUAL, GrantSource.SUSPENDED})
"""The grants an operator made (a suspended one is a manual grant held back after a userName
change): only these does ``role revoke`` remove; IdP grants follow the groups."""
ANY_CONNECTION = "any"
"""How a mapping row for the groups of every connection names its connection."""


def revocable_roles(grants: Iterable[tuple[str, str]]) -> list[str]:
    """The roles an operator can revoke from a user holding ``grants`` ((role, source)
    pairs): those granted by hand, sorted, each once."""
    return sorted({role for role, source in grants if source in OPERATOR_SOURCES})


def grantable_roles(roles: Iterable[str], grants: Iterable[tuple[str, str]]) -> list[str]:
    """The roles of ``roles`` (in their order) an operator can still grant by hand: those
    the user does not already hold as a manual grant."""
    held = {role for role, source in grants if source == GrantSource.MANUAL}
    return [role for role in roles if role not in held]


def mapping_connection_label(connection: str | None) -> str:
    """A mapping row's connection as operators read it: its name, or "any"."""
    return ANY_CONNECTION if connection is None else connection


MappingKey = tuple[int | None, str]
"""A mapping row's (connection id, folded group name); connection None: any connection."""


def matches(
    mapping_connection: int | None, mapping_key: str, group_connection: int, group_key: str
) -> bool:
    """The one rule of which groups a mapping row gives its role to: the groups of that
    folded name in its connection, or in any connection when it names none."""
    return mapping_key == group_key and mapping_connection in (None, group_connection)


def mapped_roles(
    mapping: Mapping[MappingKey, Iterable[str]], group_connection: int, group_key: str
) -> set[str]:
    """The roles the mapping gives a group (``matches``, looked up instead of scanned)."""
    found = set(mapping.get((None, group_key), ()))
    return found | set(mapping.get((group_connection, group_key), ()))


def idp_grants(
    active: bool,
    groups: Iterable[tuple[int, str]],
    mapping: Mapping[MappingKey, Iterable[str]],
) -> set[IdpGrant]:
    """The IdP-derived grants a user should hold from the (connection id, folded name) of
    each group it is a member of. An inactive user holds none (the memberships are kept so
    reactivation restores them)."""
    if not active:
        return set()
    return {
        IdpGrant(role, key)
        for connection, key in groups
        for role in mapped_roles(mapping, connection, key)
    }


@dataclass(frozen=True)
class GrantDiff:
    add: frozenset[IdpGrant]
    remove: frozenset[IdpGrant]

    @property
    def changed(self) -> int:
        return len(self.add) + len(self.remove)


def diff_grants(current: Iterable[IdpGrant], wanted: Iterable[IdpGrant]) -> GrantDiff:
    cur, want = set(current), set(wanted)
    return GrantDiff(add=frozenset(want - cur), remove=frozenset(cur - want))


def sql_match(mapping: str, group: str) -> str:
    """``matches`` rendered in SQL: the join condition of a mapping row (alias ``mapping``)
    and a group row (alias ``group``)."""
    owner = f'{mapping}."connection_id"'
    return (
        f'{mapping}."group_name_key" = {group}."display_name_key" AND '
        f'({owner} IS NULL OR {owner} = {group}."connection_id")'
    )


def sql_rule(users: str, memberships: str, groups: str, mapping: str, by_id: bool = False) -> str:
    """``idp_grants`` rendered in SQL over the given tables: a SELECT of every wanted IdP
    grant as ``("user", "role", "via_group")`` rows (each once, as the rule gives a set),
    for a store that diffs and applies grants for many users at once. A user holds a grant
    per membership of a group a mapping row ``matches``, and only while live (active, not
    deleted). The caller may narrow it with ``AND`` conditions on ``u`` (the user table's
    alias).

    ``by_id``: the caller narrows it to a list of user ids (``AND u."id" IN (...)``). The
    deletion test is then written as an expression no index serves, so that SQLite, which
    keeps no table statistics, looks the listed users up by id instead of walking the index
    of every live user (ten times the work for a batch of 500 among 100,000)."""
    deleted = 'COALESCE(u."deleted_at", NULL)' if by_id else 'u."deleted_at"'
    return (
        'SELECT DISTINCT u."id" AS "user", m."role" AS "role", '
        'g."display_name_key" AS "via_group" '
        f'FROM {users} u JOIN {memberships} ms ON ms."user" = u."id" '
        f'JOIN {groups} g ON g."id" = ms."group" '
        f"JOIN {mapping} m ON {sql_match('m', 'g')} "
        f'WHERE u."active" AND {deleted} IS NULL'
    )
