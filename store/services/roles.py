"""Roles, manual grants and the SSO group-to-role mapping."""

from __future__ import annotations

from store.context import Store
from store.services.audit import record_event
from store.tx import transaction


@transaction
def ensure_default_roles(store: Store, actor: str = "system") -> list[str]:
    """Create the configured default roles that are missing; returns the names created."""
    created = []
    for name in store.settings.roles.defaults:
        if store.db.Role.get(name=name) is None:
            store.db.Role(name=name, description="", created=store.clock())
            record_event(store, actor, "role.created", "role", name, name)
            created.append(name)
    return created
