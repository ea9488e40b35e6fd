"""Repairs the worker runs: role reconciliation, Last Used, stale-provisioning flags.

Every function here is idempotent: run twice, the second run changes nothing. Role
reconciliation goes through ``lifecycle.recompute_user_roles`` (the one implementation of
role recomputation); this module only walks the users in batches. Nothing here schedules,
retries on a timer or knows which process runs it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from pony.orm import select

from store.context import Store
from store.domain import causes
from store.domain.roles import IdpGrant, idp_grants
from store.services.audit import record_event
from store.services.lifecycle import IDP, mapping_table, recompute_user_roles
from store.tx import read, transaction

RECONCILE_BATCH = 500
"""Users scanned per step; the drifted ones among them are repaired in one transaction."""


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


@read
def _scan_batch(store: Store, after: str, size: int) -> tuple[list[str], list[str]]:
    """The next ``size`` live user ids after ``after`` and those among them whose IdP roles
    differ from what memberships and the mapping give. Plain reads (no entities, no locks),
    so a batch without drift costs three queries and never blocks a writer."""
    User, Membership = store.db.User, store.db.Membership
    RoleAssignment = store.db.RoleAssignment
    rows = select((u.id, u.active) for u in User if u.deleted_at is None and u.id > after)
    users = rows.order_by(1)[:size]
    if not users:
        return [], []
    last = users[-1][0]
    groups: dict[str, list[str]] = defaultdict(list)
    for user_id, key in select(
        (m.user.id, m.group.display_name_key) for m in Membership
        if m.user.id > after and m.user.id <= last
    ):  # fmt: skip
        groups[user_id].append(key)
    held: dict[str, set[IdpGrant]] = defaultdict(set)
    for user_id, role, via in select(
        (a.user.id, a.role.name, a.via_group) for a in RoleAssignment
        if a.source == IDP and a.user.id > after and a.user.id <= last
    ):  # fmt: skip
        held[user_id].add(IdpGrant(role, via))
    mapping = mapping_table(store)
    drifted = [
        user_id
        for user_id, active in users
        if idp_grants(active, groups[user_id], mapping) != held[user_id]
    ]
    return [user_id for user_id, _ in users], drifted


@transaction
def _repair(store: Store, user_ids: list[str], actor: str) -> int:
    """Recompute the drifted users under their row locks, taken and loaded in one query
    (the scan read without locks: the recomputation decides again from what it reads)."""
    User = store.db.User
    users = (
        User.select(lambda u: u.id in user_ids and u.deleted_at is None)
        .order_by(User.id)
        .for_update()
        .prefetch(User.memberships, User.role_assignments)
    )
    mapping = mapping_table(store)
    return sum(
        recompute_user_roles(store, user, actor, mapping, cause=causes.RECONCILE) for user in users
    )


@read
def _deleted_with_idp_roles(store: Store, size: int) -> list[str]:
    RoleAssignment = store.db.RoleAssignment
    query = select(
        a.user.id for a in RoleAssignment if a.source == IDP and a.user.deleted_at is not None
    )
    return list(query[:size])


@transaction
def _repair_deleted(store: Store, user_ids: list[str], actor: str) -> int:
    changed = 0
    for user_id in sorted(user_ids):
        user = store.db.User.get_for_update(id=user_id)
        if user is not None:
            changed += recompute_user_roles(store, user, actor, cause=causes.RECONCILE)
    return changed


def reconcile_roles(store: Store, actor: str = "worker", batch_size: int = RECONCILE_BATCH) -> int:
    """Recompute every user's IdP-derived roles from memberships and the current mapping
    and return how many assignments were added or removed. Users are scanned in batches;
    only those that drifted are locked and recomputed (one transaction per batch). Repairs
    a missing IdP role, an IdP role left on an inactive or deleted user, and an IdP role
    whose mapping is gone; manual roles are never touched."""
    size = max(1, batch_size)
    changed, after = 0, ""
    while True:
        ids, drifted = _scan_batch(store, after, size)
        if drifted:
            changed += _repair(store, drifted, actor)
        if len(ids) < size:
            break
        after = ids[-1]
    for _ in range(1000):  # bounded: each round repairs the users it found
        gone = _deleted_with_idp_roles(store, size)
        if not gone:
            break
        changed += _repair_deleted(store, gone, actor)
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
