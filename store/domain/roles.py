"""Which roles a user holds through IdP groups: memberships + the SSO mapping -> roles.

Pure. Manual grants are not this module's business: recomputation only ever produces the
IdP-derived set, and the use case persists the difference to that set alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class IdpGrant:
    role: str
    via_group: str  # folded IdP group name the role comes from


def idp_grants(
    active: bool,
    group_keys: Iterable[str],
    mapping: Mapping[str, Iterable[str]],
) -> set[IdpGrant]:
    """The IdP-derived grants a user should hold. An inactive user holds none (the
    memberships are kept so reactivation restores them)."""
    if not active:
        return set()
    return {IdpGrant(role, key) for key in group_keys for role in mapping.get(key, ())}


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


def sql_rule(users: str, memberships: str, groups: str, mapping: str) -> str:
    """``idp_grants`` rendered in SQL over the given tables: a SELECT of every wanted IdP
    grant as ``("user", "role", "via_group")`` rows, for a store that diffs and applies
    grants for many users at once. A user holds a grant per membership of a group whose
    folded name a mapping row names, and only while live (active, not deleted). The caller
    may narrow it with ``AND`` conditions on ``u`` (the user table's alias)."""
    return (
        f'SELECT u."id" AS "user", m."role" AS "role", g."display_name_key" AS "via_group" '
        f'FROM {users} u JOIN {memberships} ms ON ms."user" = u."id" '
        f'JOIN {groups} g ON g."id" = ms."group" '
        f'JOIN {mapping} m ON m."group_name_key" = g."display_name_key" '
        f'WHERE u."active" AND u."deleted_at" IS NULL'
    )
