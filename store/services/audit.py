"""Audit events: who changed what, with before and after. Called inside a use case's
transaction so an event exists exactly when its change does; never pruned.

An event is one bound INSERT, written at once in the caller's transaction (building a Pony
entity for it cost more than the statement on every audited write). Its JSON columns hold
what Pony would store for them: the same text on SQLite, jsonb on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store.context import Store
from store.domain import limits
from store.domain.enums import AuditAction
from store.queries.filtering import json_param, sql_timestamp
from store.sql import execute_unflushed

# Bound parameters only: every $name is a Python name of ``record_event``.
_INSERT = {
    provider: 'INSERT INTO "audit_event" ("at", "actor", "action", "target_type", "target_id", '
    f'"target_name", "before", "after", "detail") VALUES ($at, $actor, $action, $target_type, '
    f"$target_id, $target_name, $before{cast}, $after{cast}, $detail)"
    for provider, cast in (("sqlite", ""), ("postgres", "::jsonb"))
}


def record_event(
    store: Store,
    actor: str,
    action: AuditAction,
    target_type: str,
    target_id: str,
    target_name: str = "",
    before: Any = None,
    after: Any = None,
    detail: str = "",
) -> None:
    params = {
        "at": sql_timestamp(store, store.clock()),
        "actor": actor[: limits.ACTOR] or "system",
        "action": AuditAction(action).value,  # a name outside the vocabulary is a bug
        "target_type": target_type[:32],
        "target_id": str(target_id)[: limits.AUDIT_TARGET_ID],
        "target_name": (target_name or "")[: limits.AUDIT_TARGET_NAME],
        "before": json_param(before),
        "after": json_param(after),
        "detail": (detail or "")[: limits.DETAIL],
    }
    # Pending changes of the audited rows are not written first: each is written once, with
    # all its columns, by the next statement of the use case or at commit.
    execute_unflushed(store.db, _INSERT[store.provider], params)


def listed_ids(ids: Sequence[str]) -> list[str] | dict[str, int]:
    """Ids as an audit event keeps them: every one up to ``limits.AUDIT_IDS``, else the
    count."""
    return list(ids) if len(ids) <= limits.AUDIT_IDS else {"count": len(ids)}
