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
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pony.orm import flush

from store.context import Store, naive_utc, utc_now
from store.domain import ratelimit
from store.domain.display import safe_field
from store.domain.enums import AuditAction
from store.domain.names import fold
from store.domain.tokens import (
    SECRET_BYTES,
    TOKEN_PREFIX,
    display_prefix,
    encode_secret,
    hash_secret,
    hashes_match,
    looks_like_secret,
    refused_token_label,
)
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.filtering import fetch_rows, sql_datetime, sql_timestamp
from store.queries.tokens import active_token_entity, token_record
from store.records import AuthResult, IssuedToken, TokenRecord
from store.services.audit import record_event
from store.services.connections import connection_entity, hold, new_connection
from store.sql import execute
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
def issue_token(
    store: Store,
    name: str,
    actor: str,
    rate_limit: int | None = None,
    connection: str | None = None,
) -> IssuedToken:
    """Issue a new token for the IdP connection named ``connection`` (which must exist), or,
    without one, for a new connection named like the token (refused when a connection of
    that name exists: the token is then issued with ``connection``). Token names are unique
    among active tokens. The returned secret is the only copy there will ever be."""
    name, key = _clean_name(name)
    rate_limit = _check_rate_limit(rate_limit)
    _check_free(store, name, key)
    if connection is None:
        owner = new_connection(store, name, None, actor, attribute="name")
    else:
        owner = connection_entity(store, connection)
    return _issue(store, owner, name, key, actor, rate_limit)


@transaction
def rotate_token(store: Store, token_name: str, actor: str) -> IssuedToken:
    """The first step of a rotation without downtime: a new token for the same connection
    (with the same rate limit), named ``<connection>-2`` (or the next number no token of
    any status has). The old token stays active until an operator revokes it."""
    old = active_token_entity(store, token_name)
    if old is None:
        raise NotFound(f"no active token named {token_name!r}")
    owner = old.connection
    taken = {fold(t.name) for t in store.db.ScimToken.select()}
    number = 2
    while fold(f"{owner.name}-{number}") in taken:
        number += 1
    name, key = _clean_name(f"{owner.name}-{number}")
    detail = f"rotation of token {old.name!r} (prefix {old.prefix}), which stays active"
    return _issue(store, owner, name, key, actor, old.rate_limit, detail)


def _check_free(store: Store, name: str, key: str) -> None:
    if store.db.ScimToken.get(name_key=key) is not None:
        raise Conflict(
            f"a token named {name!r} already exists: to replace it without downtime, rotate "
            "it (a new token for its connection), switch the IdP over, then revoke the old one",
            "name",
        )


def _issue(
    store: Store,
    owner: Any,
    name: str,
    key: str,
    actor: str,
    rate_limit: int | None,
    detail: str = "",
) -> IssuedToken:
    if not hold(store, owner):  # removed since it was looked up: no token may name it
        raise NotFound(f"no connection named {owner.name!r}")
    secret = encode_secret(TOKEN_PREFIX, store.random_bytes(SECRET_BYTES))
    token = store.db.ScimToken(
        name=name,
        name_key=key,
        prefix=display_prefix(secret),
        secret_hash=hash_secret(secret),
        created=store.clock(),
        created_by=actor[:256],
        rate_limit=rate_limit,
        connection=owner,
    )
    flush()  # assigns the id the audit event names
    record_event(
        store,
        actor,
        AuditAction.TOKEN_ISSUED,
        "token",
        str(token.id),
        name,
        after={
            "name": name,
            "prefix": token.prefix,
            "rate_limit": rate_limit,
            "connection": owner.name,
        },
        detail=detail,
    )
    return IssuedToken(record=token_record(token), secret=secret)


@transaction
def revoke_token(store: Store, name: str, actor: str) -> TokenRecord:
    """Revoke the active token of that name; it fails on its very next request. The name
    becomes free for a new token (the revoked row keeps it for display)."""
    token = active_token_entity(store, name)
    if token is None:
        raise NotFound(f"no active token named {name!r}")
    revoke_token_entity(store, token, actor)
    return token_record(token)


def revoke_token_entity(store: Store, token: Any, actor: str, detail: str = "") -> None:
    """Revoke an active token row in the caller's transaction (audited)."""
    token.revoked_at = store.clock()
    token.revoked_by = actor[:256]
    token.name_key = f"{token.name_key}#revoked#{token.id}"
    bucket = store.db.RateBucket.get(key=_token_bucket(token.id))
    if bucket is not None:
        bucket.delete()
    record_event(
        store,
        actor,
        AuditAction.TOKEN_REVOKED,
        "token",
        str(token.id),
        token.name,
        before={"status": "active"},
        after={"status": "revoked", "connection": token.connection.name},
        detail=detail,
    )


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
            AuditAction.TOKEN_RATE_LIMIT,
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
    then exactly one bucket row is locked and advanced: the token's on success (on
    PostgreSQL in the same statement as the lookup), the client address's on failure. An
    address past its failure limit is refused before any token is looked up, valid or not:
    otherwise the limit would not slow guessing (a correct guess would still pass). Behind
    a reverse proxy, ``[api] trusted_proxies`` gives each client its own address."""
    reason, secret = parse_bearer(authorization_header)
    result = _authenticate(store, reason, secret, (client or "unknown")[:200])
    if not result.ok:
        shown = display_prefix(secret) if secret and reason != "malformed" else "-"
        log.warning(
            "SCIM authentication refused: %s (client %s, token prefix %s)",
            result.reason,
            safe_field(client),
            safe_field(shown),
        )
        label = refused_token_label(result.reason, result.token_name, secret)
        result = replace(result, presented=label)
    return result


# Bound parameters only: every $name below is a Python name of this module, never caller text.
# The hot path runs these statements directly; building Pony entities for two rows would cost
# more than the statements themselves on every SCIM request.
_ROW_COLUMNS = (
    '"id", "name", "secret_hash", "revoked_at", "rate_limit", "last_used", "connection_id"'
)
_CONNECTION_NAME = '(SELECT c."name" FROM "scim_connection" c WHERE c."id" = {}."connection_id")'
TOKEN_BUCKET_PREFIX = "token:"  # noqa: S105  (a key prefix, not a secret)
# SQLite: an unlocked read; the bucket is then locked (the write lock) and advanced by
# ``_consume``, only for a valid token, so a flood of bad tokens never queues for the lock.
_LOOKUP_SQLITE = (
    f"SELECT {_ROW_COLUMNS}, {_CONNECTION_NAME.format('t')} "
    'FROM "scim_token" t WHERE "secret_hash" = $digest'
)
# PostgreSQL: one statement, sent as one message outside any open transaction, finds the token
# and advances its bucket with ``ratelimit.decide``'s rule rendered in SQL (upsert: a new
# bucket is admitted). The bucket row is locked only while the server runs the statement, never
# across a round trip to this process, so requests of one token do not queue behind a busy
# Python thread. It only advances rate-limit state (and Last Used at most once a minute):
# losing its last few milliseconds in a crash is harmless, so it does not wait for its WAL
# flush (SET LOCAL ends with the statement's implicit transaction). Every SCIM change keeps a
# synchronous commit. The TAT column is NULL when the token was refused (or is revoked).
_STEP = 'CAST(60 AS DOUBLE PRECISION) / GREATEST(1, COALESCE("rate_limit", $default_rpm))'
# The clock is read inside the statement, after the bucket row is locked (ON CONFLICT DO
# UPDATE evaluates its WHERE and SET on the locked row): requests are then judged in the order
# they reach the bucket. A clock read in Python before the statement let concurrent requests
# arrive out of order, and a later one found the TAT advanced past its own earlier "now" and
# was refused far below the limit. A store with its own clock (tests) passes it as $now.
DATABASE_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())::float8"


def _admit_postgres(now: str) -> str:
    admitted, next_tat = ratelimit.sql_rule(
        tat='b."tat"', now=now, step="(SELECT step FROM t)", burst="$burst", greatest="GREATEST"
    )
    return (
        "SET LOCAL synchronous_commit TO OFF; "
        f'WITH t AS (SELECT {_ROW_COLUMNS}, {_STEP} AS step FROM "scim_token" '
        'WHERE "secret_hash" = $digest), '
        'a AS (INSERT INTO "rate_bucket" AS b ("key", "tat") '
        f'SELECT $prefix::text || t."id"::text, {now} + t.step FROM t '
        'WHERE t."revoked_at" IS NULL '
        f'ON CONFLICT ("key") DO UPDATE SET "tat" = {next_tat} WHERE {admitted} '
        'RETURNING b."tat") '
        f'SELECT {_ROW_COLUMNS}, {_CONNECTION_NAME.format("t")}, (SELECT "tat" FROM a) FROM t'
    )


_ADMIT_POSTGRES = {True: _admit_postgres(DATABASE_CLOCK), False: _admit_postgres("$now::float8")}
_BUCKET = 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key'
_BUCKET_LOCKED = {"sqlite": _BUCKET, "postgres": _BUCKET + " FOR UPDATE"}
_ADVANCE = 'UPDATE "rate_bucket" SET "tat" = $tat WHERE "key" = $key'
_CREATE = 'INSERT INTO "rate_bucket" ("key", "tat") VALUES ($key, $tat)'
_LAST_USED = 'UPDATE "scim_token" SET "last_used" = $now WHERE "id" = $token_id'


@transaction
def _authenticate(store: Store, reason: str, secret: str, client: str) -> AuthResult:
    # The address's failure limit comes first, before any token lookup: past it, even a
    # correct guess is refused, so guessing gets no faster than the limit, and a flood from
    # one address costs one indexed read per request.
    refused = _over_failure_limit(store, f"authfail:{client}")
    if refused is not None:
        return refused
    if reason:
        return _count_failure(store, f"authfail:{client}", reason)
    if store.provider == "postgres":
        return _authenticate_postgres(store, secret, client)
    rows = fetch_rows(store, _LOOKUP_SQLITE, {"digest": hash_secret(secret)})
    row = rows[0] if rows else None
    if row is None or not hashes_match(row[2], secret):
        return _count_failure(store, f"authfail:{client}", "unknown")
    token_id, name, _digest, revoked_at, rate_limit, last_used, connection_id, connection = row
    if revoked_at is not None:
        return _revoked(store, client, name)
    known = AuthResult(True, "", token_id, name, 0.0, int(connection_id), str(connection))
    limit = rate_limit or store.settings.rate_limit.requests_per_minute
    burst = store.settings.rate_limit.burst
    decision, now = _consume(store, _token_bucket(token_id), limit, burst)
    if not decision.allowed:
        return replace(known, ok=False, reason="rate_limited", retry_after=decision.retry_after)
    _mark_used(store, token_id, last_used, now)
    return known


def _authenticate_postgres(store: Store, secret: str, client: str) -> AuthResult:
    settings = store.settings.rate_limit
    now = store.clock()
    params = {
        "digest": hash_secret(secret),
        "prefix": TOKEN_BUCKET_PREFIX,
        "now": _epoch(now),
        "default_rpm": settings.requests_per_minute,
        "burst": max(0, settings.burst),
    }
    rows = fetch_rows(store, _ADMIT_POSTGRES[store.clock is utc_now], params)
    row = rows[0] if rows else None
    if row is None or not hashes_match(row[2], secret):
        return _count_failure(store, f"authfail:{client}", "unknown")
    token_id, name, _digest, revoked_at, rate_limit, last_used, connection_id, connection = row[:8]
    admitted = row[8]
    if revoked_at is not None:
        return _revoked(store, client, name)
    known = AuthResult(True, "", token_id, name, 0.0, int(connection_id), str(connection))
    if admitted is None:
        # Refused: how long until one more fits, from the bucket as it is now.
        limit = rate_limit or settings.requests_per_minute
        found = fetch_rows(store, _BUCKET, {"key": _token_bucket(token_id)})
        tat = float(found[0][0]) if found else None
        decision = ratelimit.decide(tat, _epoch(store.clock()), limit, settings.burst)
        return replace(known, ok=False, reason="rate_limited", retry_after=decision.retry_after)
    _mark_used(store, token_id, last_used, now)
    return known


def _revoked(store: Store, client: str, name: str) -> AuthResult:
    """A revoked token counts as a failure of its address; the log may name the token."""
    result = _count_failure(store, f"authfail:{client}", "revoked")
    return replace(result, token_name=name) if result.reason == "revoked" else result


def _mark_used(store: Store, token_id: int, last_used: Any, now: datetime) -> None:
    if last_used is None or now - naive_utc(sql_datetime(last_used)) >= LAST_USED_EVERY:
        params = {"now": sql_timestamp(store, now), "token_id": token_id}
        execute(store.db, _LAST_USED, params)


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
    decision, _now = _consume(store, key, per_minute, burst)
    if not decision.allowed:
        return AuthResult(False, "rate_limited", retry_after=decision.retry_after)
    return AuthResult(False, reason)


def _over_failure_limit(store: Store, key: str) -> AuthResult | None:
    """The refusal when the address has used up its failures, from an unlocked read (a
    flood past the limit costs no write lock at all); None while it may still try."""
    per_minute, burst = _failure_limit(store)
    if per_minute <= 0:
        return None
    rows = fetch_rows(store, _BUCKET, {"key": key})
    if not rows:
        return None
    peek = ratelimit.decide(float(rows[0][0]), _epoch(store.clock()), per_minute, burst)
    if peek.allowed:
        return None
    return AuthResult(False, "rate_limited", retry_after=peek.retry_after)


def _consume(store: Store, key: str, per_minute: int, burst: int) -> tuple[Any, datetime]:
    """Lock the bucket row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock that
    ``execute`` takes), decide, and advance it; returns the decision and the time it was
    judged at. A concurrent first insert of the same key loses on the primary key and the
    transaction is retried, then finds the row. The clock is read after the lock: a request
    that waited for another must not be judged at the time it started waiting."""
    db = store.db
    locked = execute(db, _BUCKET_LOCKED[store.provider], {"key": key}).rows
    found = locked[0] if locked else None
    now = store.clock()
    tat = None if found is None else float(found[0])
    decision = ratelimit.decide(tat, _epoch(now), per_minute, burst)
    if decision.allowed:
        execute(db, _CREATE if tat is None else _ADVANCE, {"key": key, "tat": decision.new_tat})
    return decision, now


@transaction
def prune_rate_buckets(store: Store) -> int:
    """Delete buckets that have fully recovered (their TAT is in the past: the same as no
    row). Keeps the table as small as the set of recently active tokens and addresses;
    for the worker's maintenance. Returns how many were deleted."""
    at = (store.clock() - _EPOCH).total_seconds()
    return int(store.db.RateBucket.select(lambda b: b.tat <= at).delete(bulk=True))
