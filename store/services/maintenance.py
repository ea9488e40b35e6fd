"""Repairs the worker runs: role reconciliation, Last Used, stale-provisioning flags.

Every function here is idempotent: run twice, the second run changes nothing. Role
reconciliation first finishes the recomputations mapping edits queued (``recompute_queue``),
then applies the one rule of role recomputation (``domain.roles``) to whoever drifted,
through ``role_sync``, in batches. Nothing here schedules, retries on a timer or knows which
process runs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from pony.orm import select

from store import entities
from store.context import Store
from store.domain import causes
from store.domain.enums import AuditAction
from store.domain.tokens import stale_since
from store.services import recompute_queue, role_sync
from store.services.audit import record_event
from store.tx import read, transaction

RECONCILE_BATCH = role_sync.BATCH
"""Drifted users repaired per transaction on SQLite, whose one writer lock every IdP request
waits for while a batch holds it: short batches."""
RECONCILE_BATCH_POSTGRES = 500
"""On PostgreSQL a batch locks only its own users' rows, and each batch has a fixed cost
(its locks, its commit): larger batches, half the repair time at 56,000 repairs."""


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
def _repair(store: Store, user_ids: Sequence[str], actor: str) -> int:
    return role_sync.apply_batch(store, user_ids, actor, causes.RECONCILE)


def reconcile_roles(store: Store, actor: str = "worker", batch_size: int | None = None) -> int:
    """Recompute every user's IdP-derived roles from memberships and the current mapping
    and return how many assignments were added or removed. One statement finds the users
    whose IdP rows drifted; only those are locked and repaired, ``batch_size`` per
    transaction (by default ``RECONCILE_BATCH``, on PostgreSQL ``RECONCILE_BATCH_POSTGRES``;
    a mapping edit's queued batches first, so its users' events name it).
    Repairs a missing IdP role, an IdP role left on an inactive or deleted user, and an IdP
    role whose mapping is gone; manual roles are never touched."""
    changed = recompute_queue.run_all(store)
    drifted = role_sync.drifted_users(store)

    def repair(ids: Sequence[str]) -> int:
        return recompute_queue.run_all(store) + _repair(store, ids, actor)

    if batch_size is None:
        postgres = store.provider == "postgres"
        batch_size = RECONCILE_BATCH_POSTGRES if postgres else RECONCILE_BATCH
    return changed + role_sync.in_batches(store, drifted, repair, size=batch_size)


# ---- Last Used and stale provisioning -------------------------------------------------------


def _refresh_staleness(store: Store, token: entities.ScimToken, now: datetime) -> int:
    """Flag or clear ``stale_since`` on one active token; returns 1 when it changed."""
    hours = store.settings.worker.stale_after_hours
    since = stale_since(token.last_used or token.created, now, hours)
    stale = since is not None
    if stale == (token.stale_since is not None):
        return 0
    token.stale_since = since
    record_event(
        store,
        "worker",
        AuditAction.TOKEN_STALE if stale else AuditAction.TOKEN_FRESH,
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
