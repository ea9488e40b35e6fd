"""The operators' user directory: a paged, searchable list of users with their roles.

Read only. Built for 100,000 users and more: one call selects a single page with LIMIT and
OFFSET in the order of the folded userName key (a unique index), counts the matches with one
aggregate, and fetches the page's role assignments in one more query. Search text is folded
like the stored keys and matched with LIKE through Pony lambdas, so it travels as a bound
parameter with its wildcards escaped; no search text is ever pasted into SQL. It must never
load the whole user table.
"""

from __future__ import annotations

from pony.orm import exists

from store import entities
from store.context import Store, as_utc
from store.domain.active import stored_state
from store.domain.enums import UserStatus
from store.domain.names import fold, group_key
from store.errors import InvalidInput
from store.queries.identity import role_sources
from store.records import Page, RoleSource, UserSummary
from store.tx import read

STATUSES = tuple(UserStatus)
MAX_PAGE = 500
"""Largest page one call returns; the UI asks for far fewer rows than this."""


@read
def search_users(
    store: Store,
    text: str = "",
    offset: int = 0,
    limit: int = 100,
    status: str | None = None,
    *,
    role: str | None = None,
    group: str | None = None,
) -> Page[UserSummary]:
    """Live (not deleted) users whose userName, display name or an e-mail address contains
    ``text`` (case-insensitively, Unicode-aware), or whose externalId or id is exactly
    ``text``; ordered by userName, ``limit`` of them from ``offset``. ``status`` narrows to
    "active" or "inactive" users, ``role`` to holders of that role (from any source),
    ``group`` to members of the IdP group of that name (case-insensitive)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", "status")
    offset = max(0, int(offset))
    limit = max(1, min(int(limit), MAX_PAGE))
    query = _matching(store, text.strip(), status)
    query = _narrowed(query, role, group)
    total = query.count()
    users = list(query.order_by(lambda u: u.user_name_key)[offset : offset + limit])
    roles = _roles_of(store, [u.id for u in users])
    items = tuple(
        UserSummary(
            id=u.id,
            user_name=u.user_name,
            display_name=u.display_name,
            active=stored_state(u.active, u.document),
            roles=roles.get(u.id, ()),
            last_modified=as_utc(u.last_modified),
        )
        for u in users
    )
    return Page(items=items, total=total, start_index=offset + 1)


def _matching(store: Store, text: str, status: str | None) -> entities.Query[entities.User]:
    """The Pony query of matching users; every value is a closure variable (bound)."""
    query = store.db.User.select(lambda u: u.deleted_at is None)
    needle = fold(text)
    if needle:
        query = query.filter(
            lambda u: (
                needle in u.user_name_key
                or needle in u.display_name_key
                or exists(e for e in u.emails if needle in e.value_key)
                or u.external_id == text
                or u.id == text
            )
        )
    if status == UserStatus.ACTIVE:
        query = query.filter(lambda u: u.active)
    elif status == UserStatus.INACTIVE:
        query = query.filter(lambda u: not u.active)
    return query


def _narrowed(
    query: entities.Query[entities.User], role: str | None, group: str | None
) -> entities.Query[entities.User]:
    """Only holders of ``role`` and members of ``group`` (each when given)."""
    if role:
        role_name = role.strip()
        query = query.filter(
            lambda u: exists(a for a in u.role_assignments if a.role.name == role_name)
        )
    if group:
        wanted = group_key(group)
        query = query.filter(
            lambda u: exists(m for m in u.memberships if m.group.display_name_key == wanted)
        )
    return query


def _roles_of(store: Store, user_ids: list[str]) -> dict[str, tuple[RoleSource, ...]]:
    """Role assignments of the given users in one query, with IdP groups named as mapped."""
    if not user_ids:
        return {}
    rows = store.db.RoleAssignment.select(lambda a: a.user.id in user_ids)
    found: dict[str, list[RoleSource]] = {}
    for a, source in role_sources(store, rows):
        found.setdefault(a.user.id, []).append(source)
    return {user_id: tuple(sources) for user_id, sources in found.items()}
