"""SCIM bearer tokens: issue once, verify on every request (with its rate limit), revoke.

A token's secret exists only in the ``IssuedToken`` returned by ``issue_token``; the store
keeps its SHA-256 and a short display prefix. ``authenticate`` runs on every SCIM request:
it looks the token up by hash with no cache (a revoked token fails on its very next request)
and applies two GCRA limits whose state lives in the database, so they hold across any
number of API processes: failed authentications per client address, and requests per
token. This module must never log, return or store a secret in clear.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from pony.orm import flush

from store.context import Store, naive_utc
from store.domain import ratelimit
from store.domain.names import fold
from store.domain.tokens import (
    SECRET_BYTES,
    TOKEN_PREFIX,
    display_prefix,
    encode_secret,
    hash_secret,
    hashes_match,
    looks_like_secret,
)
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.filtering import fetch_rows, sql_datetime, sql_timestamp
from store.queries.tokens import active_token_entity, token_record
from store.records import AuthResult, IssuedToken, TokenRecord
from store.services.audit import record_event
from store.tx import transaction

log = logging.getLogger(__name__)

MAX_NAME = 128
MAX_NAME_KEY = 200  # leaves room in name_key (256) for the "#revoked#<id>" suffix
MAX_RATE_LIMIT = 1_000_000
LAST_USED_EVERY = timedelta(seconds=60)
"""Last Used is written at most this often per token: a write per request would make the
token row a hot spot for no benefit to the operator reading it."""
_EPOCH = datetime(1970, 1, 1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_name(name: str) -> tuple[str, str]:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a token needs a name, e.g. 'Okta SCIM'", "name")
    name = name.strip()
    key = fold(name)
    if len(name) > MAX_NAME or len(key) > MAX_NAME_KEY:
        raise InvalidInput(f"a token name has at most {MAX_NAME} characters", "name")
    if _CONTROL.search(name):
        raise InvalidInput("a token name cannot contain control characters", "name")
    return name, key


def _check_rate_limit(rate_limit: int | None) -> int | None:
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int):
        raise InvalidInput("the rate limit is a whole number of requests per minute", "rate_limit")
    if not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise InvalidInput(
            f"the rate limit must be between 1 and {MAX_RATE_LIMIT} requests per minute",
            "rate_limit",
        )
    return rate_limit


@transaction
def issue_token(store: Store, name: str, actor: str, rate_limit: int | None = None) -> IssuedToken:
    """Issue a new token. The returned secret is the only copy there will ever be."""
    name, key = _clean_name(name)
    rate_limit = _check_rate_limit(rate_limit)
    if store.db.ScimToken.get(name_key=key) is not None:
        raise Conflict(f"a token named {name!r} already exists; revoke it first", "name")
    secret = encode_secret(TOKEN_PREFIX, store.random_bytes(SECRET_BYTES))
    token = store.db.ScimToken(
        name=name,
        name_key=key,
        prefix=display_prefix(secret),
        secret_hash=hash_secret(secret),
        created=store.clock(),
        created_by=actor[:256],
        rate_limit=rate_limit,
    )
    flush()  # assigns the id the audit event names
    record_event(
        store,
        actor,
        "token.issued",
        "token",
        str(token.id),
        name,
        after={"name": name, "prefix": token.prefix, "rate_limit": rate_limit},
    )
    return IssuedToken(record=token_record(token), secret=secret)


@transaction
def revoke_token(store: Store, name: str, actor: str) -> TokenRecord:
    """Revoke the active token of that name; it fails on its very next request. The name
    becomes free for a new token (the revoked row keeps it for display)."""
    token = active_token_entity(store, name)
    if token is None:
        raise NotFound(f"no active token named {name!r}")
    token.revoked_at = store.clock()
    token.revoked_by = actor[:256]
    token.name_key = f"{token.name_key}#revoked#{token.id}"
    bucket = store.db.RateBucket.get(key=_token_bucket(token.id))
    if bucket is not None:
        bucket.delete()
    record_event(
        store,
        actor,
        "token.revoked",
        "token",
        str(token.id),
        token.name,
        before={"status": "active"},
        after={"status": "revoked"},
    )
    return token_record(token)


@transaction
def set_token_rate_limit(
    store: Store, name: str, rate_limit: int | None, actor: str
) -> TokenRecord:
    """Give a token its own requests-per-minute limit (None: back to the global default)."""
    rate_limit = _check_rate_limit(rate_limit)
    token = active_token_entity(store, name)
    if token is None:
        raise NotFound(f"no active token named {name!r}")
    before = token.rate_limit
    if before != rate_limit:
        token.rate_limit = rate_limit
        record_event(
            store,
            actor,
            "token.rate_limit",
            "token",
            str(token.id),
            token.name,
            before={"rate_limit": before},
            after={"rate_limit": rate_limit},
        )
    return token_record(token)


# ---- authentication -------------------------------------------------------------------------


def parse_bearer(header: str | None) -> tuple[str, str]:
    """``(reason, secret)``: reason is "" when the header holds a plausible token."""
    if header is None or not header.strip():
        return "missing", ""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return "malformed", ""
    secret = parts[1]
    if not looks_like_secret(secret):
        return "malformed", ""
    if not secret.startswith(TOKEN_PREFIX):
        return "unknown", secret  # not one of ours: no need to ask the database
    return "", secret


def authenticate(store: Store, authorization_header: str | None, client: str) -> AuthResult:
    """Verify the bearer token of one SCIM request and apply the rate limits.

    One short transaction: the token is looked up by hash and compared in constant time,
    then exactly one bucket row is locked and advanced: the token's on success, the client
    address's on failure. A valid token is never refused for its address's failures: behind
    a reverse proxy every IdP may share one address, and one IdP holding a stale token must
    not lock out the others."""
    reason, secret = parse_bearer(authorization_header)
    result = _authenticate(store, reason, secret, (client or "unknown")[:200])
    if not result.ok:
        shown = display_prefix(secret) if secret and reason != "malformed" else "-"
        log.warning(
            "SCIM authentication refused: %s (client %s, token prefix %s)",
            result.reason,
            client,
            shown,
        )
    return result


# Bound parameters only: every $name below is a Python name of this module, never caller text.
# The hot path runs these statements directly; building Pony entities for two rows would cost
# more than the statements themselves on every SCIM request.
_LOOKUP_COLUMNS = 't."id", t."name", t."secret_hash", t."revoked_at", t."rate_limit", t."last_used"'
TOKEN_BUCKET_PREFIX = "token:"  # noqa: S105  (a key prefix, not a secret)
_LOOKUP = {
    # SQLite: an unlocked read; the bucket is locked afterwards, and only for a valid token,
    # so a flood of bad tokens never queues for the write lock.
    "sqlite": f'SELECT {_LOOKUP_COLUMNS} FROM "scim_token" t WHERE t."secret_hash" = $digest',
    # PostgreSQL: one round trip finds the token and locks its bucket row. The transaction
    # only advances rate-limit state (and Last Used at most once a minute): losing its last
    # few milliseconds in a crash is harmless, so it does not wait for its WAL flush. Every
    # SCIM change keeps a synchronous commit (SET LOCAL ends with this transaction).
    "postgres": "SET LOCAL synchronous_commit TO OFF; "
    f'SELECT {_LOOKUP_COLUMNS}, b."tat" FROM "scim_token" t LEFT JOIN LATERAL ('
    'SELECT "tat" FROM "rate_bucket" WHERE "key" = $prefix::text || t."id"::text FOR UPDATE'
    ') b ON TRUE WHERE t."secret_hash" = $digest',
}
_BUCKET = 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key'
_BUCKET_LOCKED = {"sqlite": _BUCKET, "postgres": _BUCKET + " FOR UPDATE"}
_ADVANCE = 'UPDATE "rate_bucket" SET "tat" = $tat WHERE "key" = $key'
_CREATE = 'INSERT INTO "rate_bucket" ("key", "tat") VALUES ($key, $tat)'
_LAST_USED = 'UPDATE "scim_token" SET "last_used" = $now WHERE "id" = $token_id'
_UNREAD: Any = object()


def _lookup(store: Store, digest: str) -> tuple[Any, Any]:
    """The token row with this hash (None when there is none) and, when the statement
    already locked it, its bucket's TAT (None: no bucket row yet); ``_UNREAD`` otherwise."""
    params = {"digest": digest, "prefix": TOKEN_BUCKET_PREFIX}
    if store.provider == "postgres":
        row = store.db.execute(_LOOKUP["postgres"], {}, params).fetchone()
        return (None, _UNREAD) if row is None else (row[:6], row[6])
    rows = fetch_rows(store, _LOOKUP["sqlite"], params)
    return (rows[0] if rows else None), _UNREAD


@transaction
def _authenticate(store: Store, reason: str, secret: str, client: str) -> AuthResult:
    row: Any = None
    held = _UNREAD
    if not reason:
        row, held = _lookup(store, hash_secret(secret))
        if row is None or not hashes_match(row[2], secret):
            reason = "unknown"
        elif row[3] is not None:
            reason = "revoked"
    if reason:
        return _count_failure(store, f"authfail:{client}", reason)
    token_id, name, _digest, _revoked, rate_limit, last_used = row
    limit = rate_limit or store.settings.rate_limit.requests_per_minute
    burst = store.settings.rate_limit.burst
    decision, now = _consume(store, _token_bucket(token_id), limit, burst, held)
    if not decision.allowed:
        return AuthResult(False, "rate_limited", token_id, name, retry_after=decision.retry_after)
    if last_used is None or now - naive_utc(sql_datetime(last_used)) >= LAST_USED_EVERY:
        params = {"now": sql_timestamp(store, now), "token_id": token_id}
        store.db.execute(_LAST_USED, {}, params)
    return AuthResult(True, "", token_id, name)


def _token_bucket(token_id: int) -> str:
    return f"{TOKEN_BUCKET_PREFIX}{token_id}"


def _failure_limit(store: Store) -> tuple[int, int]:
    """(per minute, burst): N failures a minute means N may come at once, then one every
    60/N seconds."""
    per_minute = store.settings.rate_limit.auth_failures_per_minute
    return per_minute, max(0, per_minute - 1)


def _epoch(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _count_failure(store: Store, key: str, reason: str) -> AuthResult:
    """Count one failed attempt against the client address; past its limit the answer is
    rate_limited (429 with Retry-After) instead of the reason."""
    per_minute, burst = _failure_limit(store)
    if per_minute <= 0:
        return AuthResult(False, reason)
    # An unlocked read first: a flood past the limit then costs no write lock at all.
    rows = fetch_rows(store, _BUCKET, {"key": key})
    if rows:
        peek = ratelimit.decide(float(rows[0][0]), _epoch(store.clock()), per_minute, burst)
        if not peek.allowed:
            return AuthResult(False, "rate_limited", retry_after=peek.retry_after)
    decision, _now = _consume(store, key, per_minute, burst)
    if not decision.allowed:
        return AuthResult(False, "rate_limited", retry_after=decision.retry_after)
    return AuthResult(False, reason)


def _consume(
    store: Store, key: str, per_minute: int, burst: int, held: Any = _UNREAD
) -> tuple[Any, datetime]:
    """Lock the bucket row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock that
    ``execute`` takes), decide, and advance it; returns the decision and the time it was
    judged at. ``held`` is the TAT when the caller's statement already locked the row (None:
    there is no row). A concurrent first insert of the same key loses on the primary key and
    the transaction is retried, then finds the row. The clock is read after the lock: a
    request that waited for another must not be judged at the time it started waiting."""
    db = store.db
    if held is _UNREAD:
        found = db.execute(_BUCKET_LOCKED[store.provider], {}, {"key": key}).fetchone()
        held = None if found is None else found[0]
    now = store.clock()
    tat = None if held is None else float(held)
    decision = ratelimit.decide(tat, _epoch(now), per_minute, burst)
    if decision.allowed:
        db.execute(_CREATE if tat is None else _ADVANCE, {}, {"key": key, "tat": decision.new_tat})
    return decision, now


@transaction
def prune_rate_buckets(store: Store) -> int:
    """Delete buckets that have fully recovered (their TAT is in the past: the same as no
    row). Keeps the table as small as the set of recently active tokens and addresses;
    for the worker's maintenance. Returns how many were deleted."""
    at = (store.clock() - _EPOCH).total_seconds()
    return int(store.db.RateBucket.select(lambda b: b.tat <= at).delete(bulk=True))
