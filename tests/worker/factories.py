"""Setup helpers for the worker and maintenance tests: mappings, tokens, activity, drift.

Users, groups and memberships come from ``tests.store.identity_factories``; here are the
pieces the worker tests add, including deliberate drift written straight into the tables
(as a crash between steps or a manual database fix would leave it).
"""

from __future__ import annotations

from datetime import datetime

from pony.orm import db_session

from store.context import Store
from store.domain.names import fold
from store.records import ActivityInput
from store.services.activity import record_activity
from store.services.roles import ensure_default_roles
from store.services.tokens import issue_token


def make_mapping(store: Store, group_name: str, role: str) -> None:
    """Add a mapping row directly (no recomputation: the drift the worker must repair)."""
    ensure_default_roles(store)
    with db_session:
        store.db.GroupRoleMapping(
            group_name=group_name,
            group_name_key=fold(group_name),
            role=store.db.Role[role],
            created=store.clock(),
            created_by="test",
        )


def remove_mapping(store: Store, group_name: str, role: str) -> None:
    with db_session:
        store.db.GroupRoleMapping.get(
            group_name_key=fold(group_name), role=store.db.Role[role], connection=None
        ).delete()


def add_idp_row(store: Store, user_id: str, role: str, via_group: str) -> None:
    """An IdP assignment that nothing justifies (e.g. left by a manual database edit)."""
    with db_session:
        store.db.RoleAssignment(
            user=store.db.User[user_id],
            role=store.db.Role[role],
            source="idp",
            via_group=fold(via_group),
            created=store.clock(),
            granted_by="test",
        )


def drop_idp_rows(store: Store, user_id: str) -> None:
    with db_session:
        for row in store.db.User[user_id].role_assignments.select(lambda a: a.source == "idp"):
            row.delete()


def grant_manual(store: Store, user_id: str, role: str) -> None:
    with db_session:
        store.db.RoleAssignment(
            user=store.db.User[user_id],
            role=store.db.Role[role],
            source="manual",
            via_group="",
            created=store.clock(),
            granted_by="operator:test",
        )


def set_active_raw(store: Store, user_id: str, active: bool) -> None:
    """Flip the flag alone, as a manual database fix would (no lifecycle effects)."""
    with db_session:
        store.db.User[user_id].active = active


def make_token(store: Store, name: str) -> int:
    return issue_token(store, name, "operator:test").record.id


def log_request(
    store: Store,
    at: datetime,
    token_id: int | None = None,
    status: int = 200,
    path: str = "/scim/v2/Users",
    **extra: object,
) -> None:
    record_activity(
        store,
        [
            ActivityInput(
                at=at,
                method="GET",
                path=path,
                status=status,
                latency_ms=2.5,
                token_id=token_id,
                **extra,  # type: ignore[arg-type]
            )
        ],
    )


def token_row(store: Store, token_id: int) -> tuple[datetime | None, datetime | None]:
    """(last_used, stale_since) as stored (naive UTC)."""
    with db_session:
        token = store.db.ScimToken[token_id]
        return token.last_used, token.stale_since
