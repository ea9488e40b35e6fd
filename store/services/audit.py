"""Audit events: who changed what, with before and after. Called inside a use case's
transaction so an event exists exactly when its change does; never pruned."""

from __future__ import annotations

from typing import Any

from store.context import Store
from store.domain.enums import AuditAction


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
    store.db.AuditEvent(
        at=store.clock(),
        actor=actor[:256] or "system",
        action=AuditAction(action).value,  # a name outside the vocabulary is a bug
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        target_name=(target_name or "")[:1024],
        before=before,
        after=after,
        detail=(detail or "")[:2048],
    )
