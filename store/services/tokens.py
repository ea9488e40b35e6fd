"""SCIM bearer tokens: issue once, verify on every request (with its rate limit), revoke.

A token's secret exists only in the ``IssuedToken`` returned by ``issue_token``; the store
keeps its SHA-256 and a short display prefix. ``authenticate`` runs on every SCIM request:
it looks the token up by hash with no cache (a revoked token fails on its very next request)
and applies two GCRA limits whose state lives in the database, so they hold across any
number of API processes: failed authentications per client address, and requests per
token. A token's requests are admitted from budget leases this process holds
(``rate_leases``, ``ratelimit.grant``): most of them write nothing. This module must never
log, return or store a secret in clear.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pony.orm import flush

from store import entities
from store.context import Store, naive_utc, utc_now
from store.domain import limits, ratelimit
from store.domain import tokens as token_rules
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
from store.services.rate_leases import leases_of
from store.sql import execute
from store.tx import transaction

log = logging.getLogger(__name__)

MAX_RATE_LIMIT = 1_000_000
LAST_USED_EVERY = timedelta(seconds=60)
"""Last Used is written at most this often per token: a write per request would make the
token row a hot spot for no benefit to the operator reading it."""
_EPOCH = datetime(1970, 1, 1)
_NOT_HEADER_TEXT = re.compile(r"[^\t\x20-\x7e]")
"""What an Authorization header of ours never holds: anything but printable ASCII and tabs."""


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
    name, key = token_rules.clean_name(name)
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
    name, key = token_rules.rotation_name(owner.name, taken)
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
    owner: entities.Connection,
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
        created_by=actor[: limits.ACTOR],
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


def revoke_token_entity(
    store: Store, token: entities.ScimToken, actor: str, detail: str = ""
) -> None:
    """Revoke an active token row in the caller's transaction (audited)."""
    token.revoked_at = store.clock()
    token.revoked_by = actor[: limits.ACTOR]
    token.name_key = f"{token.name_key}#revoked#{token.id}"
    bucket = store.db.RateBucket.get(key=_token_bucket(token.id))
    if bucket is not None:
        bucket.delete()
    leases_of(store).drop(_token_bucket(token.id))
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
    if _NOT_HEADER_TEXT.search(header):  # str.split would take these for separators
        return "malformed", ""
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

    One short transaction: the token is looked up by hash (every request: a revoked token
    fails on its very next request, in every process) and compared in constant time. Its
    rate limit is then taken from a budget lease this process holds for the token
    (``rate_leases``), with no write at all; only when the process holds none is the
    token's bucket row locked and advanced, for a new lease. A failure advances the client
    address's bucket instead. An address past its failure limit is refused before any
    token is looked up, valid or not: otherwise the limit would not slow guessing (a
    correct guess would still pass). Behind a reverse proxy, ``[api] trusted_proxies``
    gives each client its own address."""
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
# An unlocked read, on every request; a bucket is locked only to grant a lease, and only for
# a valid token, so a flood of bad tokens never queues for the lock.
# With the token, in the same read, the client address's failure bucket (NULL when none).
_COLUMNS_OF_T = ", ".join(f"t.{column.strip()}" for column in _ROW_COLUMNS.split(","))
_LOOKUP = (
    f'SELECT (SELECT "tat" FROM "rate_bucket" WHERE "key" = $failures), {_COLUMNS_OF_T}, '
    f"{_CONNECTION_NAME.format('t')} "
    'FROM (SELECT 1 AS "one") AS x LEFT JOIN "scim_token" AS t ON t."secret_hash" = $digest'
)
# PostgreSQL grants a lease in one message, outside any open transaction: the bucket row is
# made if missing (a TAT of 0 is the same as no bucket), locked, and advanced by
# ``ratelimit.grant``'s rule rendered in SQL; the answer carries the TAT it found and the
# time it judged at, from which ``ratelimit.grant`` gives the same lease in Python. The row is
# locked only while the server runs the message, never across a round trip to this process.
# It only advances rate-limit state: losing its last few milliseconds in a crash is harmless,
# so it does not wait for its WAL flush (SET LOCAL ends with the message's implicit
# transaction). Every SCIM change keeps a synchronous commit.
# The clock is read inside the statement, after the bucket row is locked: requests are then
# judged in the order they reach the bucket. A clock read in Python before the statement let
# concurrent requests arrive out of order, and a later one found the TAT advanced past its own
# earlier "now" and was refused far below the limit. A store with its own clock (tests) passes
# it as $now.
DATABASE_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())::float8"


def _grant_postgres(now: str) -> str:
    admitted, _units, new_tat = ratelimit.sql_grant(
        tat="c.tat", now="c.now", step="$step::float8", burst="$burst", want="$want",
        horizon="$horizon::float8", greatest="GREATEST", least="LEAST",
    )  # fmt: skip
    return (
        "SET LOCAL synchronous_commit TO OFF; "
        'INSERT INTO "rate_bucket" ("key", "tat") VALUES ($key, 0) ON CONFLICT ("key") DO NOTHING; '
        'WITH l AS (SELECT "tat" FROM "rate_bucket" WHERE "key" = $key FOR UPDATE), '
        f'c AS (SELECT l."tat"::float8 AS tat, {now} AS now FROM l), '
        f'u AS (UPDATE "rate_bucket" AS b SET "tat" = {new_tat} FROM c '
        f'WHERE b."key" = $key AND {admitted} RETURNING b."tat") '
        'SELECT c.tat, c.now, (SELECT "tat" FROM u) FROM c'
    )


_GRANT_POSTGRES = {True: _grant_postgres(DATABASE_CLOCK), False: _grant_postgres("$now::float8")}
_BUCKET = 'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key'
_BUCKET_LOCKED = {"sqlite": _BUCKET, "postgres": _BUCKET + " FOR UPDATE"}
_ADVANCE = 'UPDATE "rate_bucket" SET "tat" = $tat WHERE "key" = $key'
_CREATE = 'INSERT INTO "rate_bucket" ("key", "tat") VALUES ($key, $tat)'
_GIVE_BACK = 'UPDATE "rate_bucket" SET "tat" = $back WHERE "key" = $key AND "tat" = $end'
_LAST_USED = 'UPDATE "scim_token" SET "last_used" = $now WHERE "id" = $token_id'


@transaction
def _authenticate(store: Store, reason: str, secret: str, client: str) -> AuthResult:
    # The address's failure limit comes first, before any token is judged: past it, even a
    # correct guess is refused, so guessing gets no faster than the limit, and a flood from
    # one address costs one indexed read per request (the same read finds the token).
    failures = f"authfail:{client}"
    if reason:
        return _over_failure_limit(store, failures) or _count_failure(store, failures, reason)
    params = {"digest": hash_secret(secret), "failures": failures}
    failed_tat, *row = fetch_rows(store, _LOOKUP, params)[0]
    refused = _past_failure_limit(store, failed_tat)
    if refused is not None:
        return refused
    if row[0] is None or not hashes_match(row[2], secret):
        return _count_failure(store, failures, "unknown")
    token_id, name, _digest, revoked_at, rate_limit, last_used, connection_id, connection = row
    key = _token_bucket(token_id)
    if revoked_at is not None:
        leases_of(store).drop(key)  # a lease never outlives its token
        return _revoked(store, client, name)
    known = AuthResult(True, "", token_id, name, 0.0, int(connection_id), str(connection))
    terms = (rate_limit or store.settings.rate_limit.requests_per_minute,
             max(0, store.settings.rate_limit.burst), _digest)  # fmt: skip
    now = store.clock()
    if not leases_of(store).take(key, terms, _epoch(now)):
        granted = _lease(store, key, terms)
        if granted.units == 0:
            return replace(known, ok=False, reason="rate_limited", retry_after=granted.retry_after)
    _mark_used(store, token_id, last_used, now)
    return known


def _lease(store: Store, key: str, terms: tuple[int, int, str]) -> ratelimit.Grant:
    """Ask the database for a lease of the token's budget (``ratelimit.grant``); its first
    slot is this request's, the rest is kept for the next ones under ``terms`` (the limit,
    the burst and the token's hash: a changed limit, or another token, never uses it)."""
    per_minute, burst, _digest = terms
    want = ratelimit.lease_size(burst)
    leases_of(store).asked()
    if store.provider == "postgres":
        granted, offset = _lease_postgres(store, key, per_minute, burst, want)
    else:
        granted, _now = _consume(store, key, per_minute, burst, want)
        offset = 0.0
    if granted.units > 1:
        step = ratelimit.interval(per_minute)
        leases_of(store).keep(key, terms, ratelimit.Lease.after(granted, step), offset)
    return granted


def _lease_postgres(
    store: Store, key: str, per_minute: int, burst: int, want: int
) -> tuple[ratelimit.Grant, float]:
    """One message (``_GRANT_POSTGRES``); the grant and the offset from this process's clock
    to the one that judged it (the database's), read before sending: never behind it."""
    database_clock = store.clock is utc_now
    local = _epoch(store.clock())
    params = {
        "key": key, "now": local, "step": ratelimit.interval(per_minute), "burst": burst,
        "want": want, "horizon": ratelimit.LEASE_SECONDS,
    }  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for _attempt in range(3):  # the worker may prune the row between its making and locking
        rows = fetch_rows(store, _GRANT_POSTGRES[database_clock], params)
        if rows:
            break
    if not rows:
        return ratelimit.Grant(0, local, local, 1.0), 0.0
    tat, now, new_tat = float(rows[0][0]), float(rows[0][1]), rows[0][2]
    granted = ratelimit.grant(tat, now, per_minute, burst, want)
    if (new_tat is None) != (granted.units == 0) or (
        new_tat is not None and float(new_tat) != granted.new_tat
    ):  # never expected (the two renderings are tested to agree): admit this one alone
        granted = ratelimit.Grant(1 if new_tat is not None else 0, now, now, granted.retry_after)
    return granted, (now - local if database_clock else 0.0)


@transaction
def release_rate_leases(store: Store) -> int:
    """Give back the budget this process's leases still hold ahead (its shutdown, or exit):
    a bucket's TAT goes back to where the lease's unused slots begin, unless something was
    granted after the lease. Returns how many buckets took budget back."""
    returned = 0
    for key, end, back in leases_of(store).release(_epoch(store.clock())):
        params = {"key": key, "end": end, "back": back}
        returned += execute(store.db, _GIVE_BACK, params).rowcount
    return returned


def _revoked(store: Store, client: str, name: str) -> AuthResult:
    """A revoked token counts as a failure of its address; the log may name the token."""
    result = _count_failure(store, f"authfail:{client}", "revoked")
    return replace(result, token_name=name) if result.reason == "revoked" else result


def _mark_used(
    store: Store, token_id: int, last_used: datetime | str | None, now: datetime
) -> None:
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
    granted, _now = _consume(store, key, per_minute, burst)
    if granted.units == 0:
        return AuthResult(False, "rate_limited", retry_after=granted.retry_after)
    return AuthResult(False, reason)


def _over_failure_limit(store: Store, key: str) -> AuthResult | None:
    """The refusal when the address has used up its failures, from an unlocked read (a
    flood past the limit costs no write lock at all); None while it may still try."""
    rows = fetch_rows(store, _BUCKET, {"key": key})
    return _past_failure_limit(store, rows[0][0] if rows else None)


def _past_failure_limit(store: Store, tat: Any) -> AuthResult | None:
    """The refusal when the address's failure bucket (its TAT, None for none) is used up."""
    per_minute, burst = _failure_limit(store)
    if per_minute <= 0 or tat is None:
        return None
    peek = ratelimit.decide(float(tat), _epoch(store.clock()), per_minute, burst)
    if peek.allowed:
        return None
    return AuthResult(False, "rate_limited", retry_after=peek.retry_after)


def _consume(
    store: Store, key: str, per_minute: int, burst: int, want: int = 1
) -> tuple[ratelimit.Grant, float]:
    """Lock the bucket row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock that
    ``execute`` takes), grant up to ``want`` slots (``ratelimit.grant``) and advance it;
    returns the grant and the time it was judged at. A concurrent first insert of the same
    key loses on the primary key and the transaction is retried, then finds the row. The
    clock is read after the lock: a request that waited for another must not be judged at
    the time it started waiting."""
    db = store.db
    locked = execute(db, _BUCKET_LOCKED[store.provider], {"key": key}).rows
    now = _epoch(store.clock())
    tat = float(locked[0][0]) if locked else None
    granted = ratelimit.grant(tat, now, per_minute, burst, want)
    if granted.units:
        execute(db, _CREATE if tat is None else _ADVANCE, {"key": key, "tat": granted.new_tat})
    return granted, now


# On PostgreSQL a token's TAT is in the database's clock (``_GRANT_POSTGRES``), and the worker
# may run on a host whose clock is ahead of it: a bucket is recovered only when it is past on
# both clocks.
_PRUNE_POSTGRES = f'DELETE FROM "rate_bucket" WHERE "tat" <= LEAST($at::float8, {DATABASE_CLOCK})'


@transaction
def prune_rate_buckets(store: Store) -> int:
    """Delete buckets that have fully recovered (their TAT is in the past: the same as no
    row). Keeps the table as small as the set of recently active tokens and addresses;
    for the worker's maintenance. Returns how many were deleted."""
    at = _epoch(store.clock())
    if store.provider == "postgres":
        return execute(store.db, _PRUNE_POSTGRES, {"at": at}).rowcount
    return int(store.db.RateBucket.select(lambda b: b.tat <= at).delete(bulk=True))
