"""Repairs the worker runs: role reconciliation, Last Used, stale-provisioning flags.

Every function here is idempotent: run twice, the second run changes nothing. Role
reconciliation goes through ``lifecycle.recompute_user_roles`` (the one implementation of
role recomputation); this module only walks the users in batches. Nothing here schedules,
retries on a timer or knows which process runs it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pony.orm import select

from store.context import Store
from store.services.audit import record_event
from store.services.lifecycle import IDP, mapping_table, recompute_user_roles
from store.tx import read, transaction

RECONCILE_BATCH = 500
"""Users recomputed per transaction: long enough to be cheap, short enough not to hold
the user rows (or SQLite's write lock) for long."""


# ---- role reconciliation --------------------------------------------------------------------


@read
def mapping_fingerprint(store: Store) -> str:
    """A digest of the group-to-role mapping's content: it changes exactly when a mapping
    row is added or removed (or a role it names is deleted). The table is small."""
    GroupRoleMapping = store.db.GroupRoleMapping
    pairs = sorted(select((m.group_name_key, m.role.name) for m in GroupRoleMapping))
    digest = hashlib.sha256()
    for key, role in pairs:
        digest.update(f"{len(key)}:{key}{len(role)}:{role};".encode())
    return digest.hexdigest()


@transaction
def _reconcile_batch(store: Store, after: str, actor: str, size: int) -> tuple[int, str, int]:
    User = store.db.User
    users = (
        User.select(lambda u: u.deleted_at is None and u.id > after)
        .order_by(User.id)
        .for_update()
        .prefetch(User.memberships, User.role_assignments)[:size]
    )
    mapping = mapping_table(store)
    changed = sum(recompute_user_roles(store, user, actor, mapping) for user in users)
    return changed, (users[-1].id if users else after), len(users)


@transaction
def _reconcile_deleted(store: Store, actor: str, size: int) -> tuple[int, int]:
    # A deleted user must hold no IdP role; normally the delete removed them already.
    RoleAssignment = store.db.RoleAssignment
    ids = select(
        a.user.id for a in RoleAssignment if a.source == IDP and a.user.deleted_at is not None
    )[:size]
    changed = 0
    for user_id in ids:
        user = store.db.User.get_for_update(id=user_id)
        if user is not None:
            changed += recompute_user_roles(store, user, actor)
    return changed, len(ids)


def reconcile_roles(store: Store, actor: str = "worker", batch_size: int = RECONCILE_BATCH) -> int:
    """Recompute every user's IdP-derived roles from memberships and the current mapping,
    one batch per transaction, and return how many assignments were added or removed.
    Repairs a missing IdP role, an IdP role left on an inactive or deleted user, and an IdP
    role whose mapping is gone; manual roles are never touched."""
    size = max(1, batch_size)
    changed, after = 0, ""
    while True:
        n, after, seen = _reconcile_batch(store, after, actor, size)
        changed += n
        if seen < size:
            break
    for _ in range(1000):  # bounded: each round removes the rows it found
        n, seen = _reconcile_deleted(store, actor, size)
        changed += n
        if seen < size:
            break
    return changed


# ---- Last Used and stale provisioning -------------------------------------------------------


def _refresh_staleness(store: Store, token: Any, now: datetime) -> int:
    """Flag or clear ``stale_since`` on one active token; returns 1 when it changed."""
    hours = store.settings.worker.stale_after_hours
    quiet_since = token.last_used or token.created
    threshold = timedelta(hours=hours)
    stale = hours > 0 and now - quiet_since > threshold
    if stale == (token.stale_since is not None):
        return 0
    token.stale_since = quiet_since + threshold if stale else None
    record_event(
        store,
        "worker",
        "token.stale" if stale else "token.fresh",
        "token",
        str(token.id),
        token.name,
        before={"last_used": None if token.last_used is None else token.last_used.isoformat()},
        detail=(
            f"no request with this token for more than {hours:g} h: is the IdP pushing?"
            if stale
            else "requests with this token again"
        ),
    )
    return 1


@transaction
def update_last_used(store: Store) -> int:
    """Move each token's Last Used forward to its newest logged request (one indexed
    lookup per token, one UPDATE per token that changed); returns how many changed."""
    Activity = store.db.Activity
    now = store.clock()
    changed = 0
    for token in store.db.ScimToken.select().order_by(lambda t: t.id):
        token_id = token.id
        newest = select(a.at for a in Activity if a.token_id == token_id).max()
        if newest is None or (token.last_used is not None and newest <= token.last_used):
            continue
        token.last_used = newest
        changed += 1
        if token.revoked_at is None:
            _refresh_staleness(store, token, now)
    return changed


@transaction
def flag_stale_tokens(store: Store) -> int:
    """Flag active tokens unused (or, never used, created) longer than
    ``worker.stale_after_hours`` and clear the flag of tokens used again; 0 hours turns the
    check off. Returns how many tokens changed."""
    now = store.clock()
    tokens = store.db.ScimToken.select(lambda t: t.revoked_at is None).order_by(lambda t: t.id)
    return sum(_refresh_staleness(store, token, now) for token in tokens)
