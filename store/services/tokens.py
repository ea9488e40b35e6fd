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
import math
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pony.orm import flush

from store import entities
from store.context import Store, on_host_clock
from store.domain import limits, ratelimit
from store.domain import tokens as token_rules
from store.domain.clients import limited_address, limited_address_argument
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
from store.queries.filtering import fetch_rows, sql_naive, sql_timestamp
from store.queries.tokens import active_token_entity, token_record
from store.records import AuthResult, IssuedToken, LockedAddress, TokenRecord
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
    address's bucket instead (the address as ``clients.limited_address`` counts it: an IPv6
    client by its /64). An address past its failure limit is refused before any token is
    judged, valid or not: otherwise the limit would not slow guessing (a correct guess would
    still pass). Behind a reverse proxy, ``[api] trusted_proxies`` gives each client its own
    address; ``locked_addresses`` and ``unlock_address`` show and clear the locked ones."""
    reason, secret = parse_bearer(authorization_header)
    address = limited_address(client)
    result = _authenticate(store, reason, secret, address)
    if not result.ok:
        shown = display_prefix(secret) if secret and reason != "malformed" else "-"
        log.warning(
            "SCIM authentication refused: %s (client %s, token prefix %s)",
            result.reason,
            safe_field(client),
            safe_field(shown),
        )
        if result.locked:
            log.warning(
                "client address %s is past its limit of %d failed authentications a minute: "
                "every SCIM request from it is refused (429) for %d s, valid tokens included "
                "(trident-scim token locked; token unlock %s)",
                safe_field(address),
                store.settings.rate_limit.auth_failures_per_minute,
                math.ceil(result.retry_after),
                safe_field(address),
            )
        label = refused_token_label(result.reason, result.token_name, secret)
        result = replace(result, presented=label, address=address)
    return result


# Bound parameters only: every $name below is a Python name of this module, never caller text.
# The hot path runs these statements directly; building Pony entities for two rows would cost
# more than the statements themselves on every SCIM request.
_ROW_COLUMNS = (
    '"id", "name", "secret_hash", "revoked_at", "rate_limit", "last_used", "connection_id"'
)
_CONNECTION_NAME = '(SELECT c."name" FROM "scim_connection" c WHERE c."id" = {}."connection_id")'
TOKEN_BUCKET_PREFIX = "token:"  # noqa: S105  (a key prefix, not a secret)
FAILURE_BUCKET_PREFIX = "authfail:"
# Every rate-limit decision is judged on one clock. On PostgreSQL, for a process on its host's
# clock, that is the database's, read inside the statement (after the bucket row is locked,
# where it locks one): API processes on several hosts whose clocks disagree still agree on
# every bucket, and requests are judged in the order they reach it. A clock read in Python
# before the statement let concurrent requests arrive out of order (a later one found the TAT
# advanced past its own earlier "now" and was refused far below the limit), and a host whose
# clock ran ahead saw another host's failures as long past (a second failure budget) or made
# its own look far ahead to the others (every request from the address refused). A store with
# a clock set by hand (tests) passes it as $now.
DATABASE_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())::float8"


def _judged_by_database(store: Store) -> bool:
    return store.provider == "postgres" and on_host_clock(store.clock)


def _now_sql(store: Store) -> str:
    """The time to judge at, as a column of a read: the database's clock, or NULL for the
    store's own clock, read only when there is something to judge."""
    return DATABASE_CLOCK if _judged_by_database(store) else "NULL"


# The client address's failure bucket (its TAT, the slot length it is counted in, and the time
# to judge it at), read unlocked: a flood past the limit costs no write lock at all.
_FAILURES = (
    'SELECT f."tat", f."step", {now}{columns} FROM (SELECT 1 AS "one") AS x '
    'LEFT JOIN "rate_bucket" AS f ON f."key" = $failures'
)
# An unlocked read, on every request; a bucket is locked only to grant a lease, and only for
# a valid token, so a flood of bad tokens never queues for the lock. With the token, in the
# same read, the client address's failure bucket (NULL when none).
_COLUMNS_OF_T = ", ".join(f"t.{column.strip()}" for column in _ROW_COLUMNS.split(","))
_LOOKUP = _FAILURES + ' LEFT JOIN "scim_token" AS t ON t."secret_hash" = $digest'
_TOKEN_COLUMNS = f", {_COLUMNS_OF_T}, {_CONNECTION_NAME.format('t')}"
_READ = {now: {"failures": _FAILURES.format(now=now, columns=""),
               "lookup": _LOOKUP.format(now=now, columns=_TOKEN_COLUMNS)}
         for now in (DATABASE_CLOCK, "NULL")}  # fmt: skip


# PostgreSQL grants in one message, outside any open transaction: the bucket row is locked
# (or, for a new bucket, judged as empty and inserted with the grant: one write either way),
# its TAT counted in this limit's slots (``ratelimit.rescaled``: a changed limit keeps the
# requests owed, not the seconds), and advanced by ``ratelimit.grant``'s rule rendered in SQL.
# A refusal still records the TAT counted in this limit's slots when it was counted in
# another's, so the requests owed are paid back at this limit's rate from then on. The answer
# carries the TAT it judged by, the time it judged at, the TAT after a grant (NULL when
# refused) and whether a row was locked or inserted (0 when another process inserted the same
# new bucket first: asked again, it then finds that row). ``ratelimit.grant`` gives the same
# grant in Python from the first two. The row is locked only while the server runs the
# message, never across a round trip to this process. It only advances rate-limit state:
# losing its last few milliseconds in a crash is harmless, so it does not wait for its WAL
# flush (SET LOCAL ends with the message's implicit transaction). Every SCIM change keeps a
# synchronous commit.
def _grant_postgres(now: str) -> str:
    judged = ratelimit.sql_rescaled(
        tat="n.tat", counted_in="n.counted_in", now="n.now", step="n.step"
    )
    admitted, _units, new_tat = ratelimit.sql_grant(
        tat="c.tat", now="c.now", step="c.step", burst="c.burst", want="c.want",
        horizon="c.horizon", greatest="GREATEST", least="LEAST",
    )  # fmt: skip
    # Each parameter is bound once (p), then carried along: the text is sent whole on every
    # grant, and each bound occurrence costs this process a conversion.
    return (
        "SET LOCAL synchronous_commit TO OFF; "
        "WITH p AS (SELECT $key::text AS key, $step::float8 AS step, $burst::int8 AS burst, "
        "$want::int8 AS want, $horizon::float8 AS horizon), "
        'l AS (SELECT b."tat", b."step" FROM "rate_bucket" AS b '
        'WHERE b."key" = (SELECT p.key FROM p) FOR UPDATE), '
        f'n AS (SELECT l."tat"::float8 AS tat, l."step"::float8 AS counted_in, {now} AS now, p.* '
        f"FROM l, p UNION ALL SELECT 0::float8, NULL::float8, {now}, p.* FROM p "
        "WHERE NOT EXISTS (SELECT 1 FROM l)), "
        f"c AS (SELECT {judged} AS tat, n.now, n.counted_in, n.key, n.step, n.burst, n.want, "
        "n.horizon FROM n), "
        f'u AS (UPDATE "rate_bucket" AS b SET "tat" = CASE WHEN {admitted} THEN {new_tat} '
        'ELSE c.tat END, "step" = c.step FROM c WHERE b."key" = c.key '
        f"AND ({admitted} OR c.counted_in IS DISTINCT FROM c.step)), "
        f'i AS (INSERT INTO "rate_bucket" ("key", "tat", "step") SELECT c.key, {new_tat}, c.step '
        f'FROM c WHERE NOT EXISTS (SELECT 1 FROM l) AND {admitted} ON CONFLICT ("key") DO NOTHING '
        'RETURNING "tat") '
        f"SELECT c.tat, c.now, CASE WHEN {admitted} THEN {new_tat} END, "
        "(SELECT COUNT(*) FROM l) + (SELECT COUNT(*) FROM i) FROM c"
    )


_GRANT_POSTGRES = {now: _grant_postgres(now) for now in (DATABASE_CLOCK, "$now::float8")}
_BUCKET = 'SELECT "tat", "step" FROM "rate_bucket" WHERE "key" = $key'
_ADVANCE = 'UPDATE "rate_bucket" SET "tat" = $tat, "step" = $step WHERE "key" = $key'
_CREATE = 'INSERT INTO "rate_bucket" ("key", "tat", "step") VALUES ($key, $tat, $step)'
_GIVE_BACK = 'UPDATE "rate_bucket" SET "tat" = $back WHERE "key" = $key AND "tat" = $end'
_LAST_USED = 'UPDATE "scim_token" SET "last_used" = $now WHERE "id" = $token_id'


@transaction
def _authenticate(store: Store, reason: str, secret: str, address: str) -> AuthResult:
    # The address's failure limit comes first, before any token is judged: past it, even a
    # correct guess is refused, so guessing gets no faster than the limit, and a flood from
    # one address costs one indexed read per request (the same read finds the token).
    failures = _failure_bucket(address)
    reads = _READ[_now_sql(store)]
    params: dict[str, Any] = {"failures": failures}
    if reason:
        failed_tat, counted_in, judged_at = fetch_rows(store, reads["failures"], params)[0]
        return _past_failure_limit(store, failed_tat, counted_in, judged_at) or _count_failure(
            store, failures, reason
        )
    params["digest"] = hash_secret(secret)
    failed_tat, counted_in, judged_at, *row = fetch_rows(store, reads["lookup"], params)[0]
    refused = _past_failure_limit(store, failed_tat, counted_in, judged_at)
    if refused is not None:
        return refused
    if row[0] is None or not hashes_match(row[2], secret):
        return _count_failure(store, failures, "unknown")
    token_id, name, _digest, revoked_at, rate_limit, last_used, connection_id, connection = row
    key = _token_bucket(token_id)
    if revoked_at is not None:
        leases_of(store).drop(key)  # a lease never outlives its token
        return replace(_count_failure(store, failures, "revoked"), token_name=name)
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
    granted, _judged_at, offset = _grant(store, key, per_minute, burst, want)
    if granted.units > 1:
        step = ratelimit.interval(per_minute)
        leases_of(store).keep(key, terms, ratelimit.Lease.after(granted, step), offset)
    return granted


def _grant(
    store: Store, key: str, per_minute: int, burst: int, want: int = 1
) -> tuple[ratelimit.Grant, float, float]:
    """Up to ``want`` slots of the bucket (``ratelimit.grant``), judged on the store's one
    clock: the grant, the time it was judged at, and the offset from this process's clock to
    the one that judged (0 but on PostgreSQL with the database's clock)."""
    if store.provider == "postgres":
        return _grant_postgres_bucket(store, key, per_minute, burst, want)
    granted, now = _consume(store, key, per_minute, burst, want)
    return granted, now, 0.0


def _grant_postgres_bucket(
    store: Store, key: str, per_minute: int, burst: int, want: int
) -> tuple[ratelimit.Grant, float, float]:
    """One message (``_GRANT_POSTGRES``); the grant and the offset from this process's clock
    to the one that judged it, read before sending: never behind it."""
    now_sql = DATABASE_CLOCK if _judged_by_database(store) else "$now::float8"
    local = _epoch(store.clock())
    params = {
        "key": key, "now": local, "step": ratelimit.interval(per_minute), "burst": burst,
        "want": want, "horizon": ratelimit.LEASE_SECONDS,
    }  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for _attempt in range(3):  # another process may insert the same new bucket at once
        rows = fetch_rows(store, _GRANT_POSTGRES[now_sql], params)
        if rows and rows[0][3]:
            break
    else:
        return ratelimit.Grant(0, local, local, 1.0), local, 0.0
    tat, now, new_tat = float(rows[0][0]), float(rows[0][1]), rows[0][2]
    granted = ratelimit.grant(tat, now, per_minute, burst, want)
    if (new_tat is None) != (granted.units == 0) or (
        new_tat is not None and float(new_tat) != granted.new_tat
    ):  # never expected (the two renderings are tested to agree): admit this one alone
        granted = ratelimit.Grant(1 if new_tat is not None else 0, now, now, granted.retry_after)
    return granted, now, (now - local if now_sql == DATABASE_CLOCK else 0.0)


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


def _mark_used(
    store: Store, token_id: int, last_used: datetime | str | None, now: datetime
) -> None:
    if last_used is None or now - sql_naive(last_used) >= LAST_USED_EVERY:
        params = {"now": sql_timestamp(store, now), "token_id": token_id}
        execute(store.db, _LAST_USED, params)


def _token_bucket(token_id: int) -> str:
    return f"{TOKEN_BUCKET_PREFIX}{token_id}"


def _failure_bucket(address: str) -> str:
    """The failure bucket of an address as ``clients.limited_address`` gives it."""
    return f"{FAILURE_BUCKET_PREFIX}{address}"


def _failure_limit(store: Store) -> tuple[int, int]:
    """(per minute, burst): N failures a minute means N may come at once, then one every
    60/N seconds."""
    per_minute = store.settings.rate_limit.auth_failures_per_minute
    return per_minute, max(0, per_minute - 1)


def _epoch(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _count_failure(store: Store, key: str, reason: str) -> AuthResult:
    """Count one failed attempt against the client address (one write of its bucket); past
    its limit the answer is rate_limited (429 with Retry-After) instead of the reason. When
    this failure uses the address's budget up, ``locked`` says so and ``retry_after`` says
    for how long every request from it will be refused."""
    per_minute, burst = _failure_limit(store)
    if per_minute <= 0:
        return AuthResult(False, reason)
    granted, now, _offset = _grant(store, key, per_minute, burst)
    if granted.units == 0:
        return AuthResult(False, "rate_limited", retry_after=granted.retry_after)
    after = ratelimit.decide(granted.new_tat, now, per_minute, burst)
    if after.allowed:
        return AuthResult(False, reason)
    return AuthResult(False, reason, retry_after=after.retry_after, locked=True)


def _past_failure_limit(store: Store, tat: Any, counted_in: Any, now: Any) -> AuthResult | None:
    """The refusal when the address's failure bucket (its TAT, None for none, counted in
    slots of ``counted_in``) is used up at ``now``; None while it may still try."""
    per_minute, burst = _failure_limit(store)
    if per_minute <= 0 or tat is None:
        return None
    judged_at = _epoch(store.clock()) if now is None else float(now)
    step = ratelimit.interval(per_minute)
    current = ratelimit.rescaled(float(tat), _float(counted_in), judged_at, step)
    peek = ratelimit.decide(current, judged_at, per_minute, burst)
    if peek.allowed:
        return None
    return AuthResult(False, "rate_limited", retry_after=peek.retry_after)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _consume(
    store: Store, key: str, per_minute: int, burst: int, want: int = 1
) -> tuple[ratelimit.Grant, float]:
    """SQLite: under the write lock that ``execute`` takes, count the bucket in this limit's
    slots (``ratelimit.rescaled``), grant up to ``want`` slots (``ratelimit.grant``) and
    advance it; a refusal records the TAT counted in this limit's slots when it was counted
    in another's. A concurrent first insert of the same key loses on the primary key and the
    transaction is retried, then finds the row. The clock is read after the lock: a request
    that waited for another must not be judged at the time it started waiting. Returns the
    grant and the time it was judged at."""
    db = store.db
    locked = execute(db, _BUCKET, {"key": key}).rows
    now = _epoch(store.clock())
    step = ratelimit.interval(per_minute)
    stored = float(locked[0][0]) if locked else None
    counted_in = _float(locked[0][1]) if locked else None
    tat = ratelimit.rescaled(stored, counted_in, now, step)
    granted = ratelimit.grant(tat, now, per_minute, burst, want)
    if granted.units or (locked and counted_in != step):
        params = {"key": key, "tat": granted.new_tat if granted.units else tat, "step": step}
        execute(db, _CREATE if not locked else _ADVANCE, params)
    return granted, now


# ---- locked addresses ----------------------------------------------------------------------

# Every failure bucket, by a range of the primary key (no pattern: ';' follows ':').
_FAILURE_BUCKETS = (
    'SELECT "key", "tat", "step", {now} FROM "rate_bucket" '
    'WHERE "key" >= $low AND "key" < $high ORDER BY "key"'
)
_FAILURE_RANGE = {"low": FAILURE_BUCKET_PREFIX, "high": FAILURE_BUCKET_PREFIX[:-1] + ";"}
_FORGET = 'DELETE FROM "rate_bucket" WHERE "key" = $key'


@transaction
def locked_addresses(store: Store) -> list[LockedAddress]:
    """Every client address with failed authentications still counted against it, judged on
    the clock that judges them at authentication; ``locked`` for those past the limit, whose
    every request (valid tokens included) is refused for ``retry_after`` seconds."""
    per_minute, burst = _failure_limit(store)
    step = ratelimit.interval(per_minute)
    query = _FAILURE_BUCKETS.format(now=_now_sql(store))
    found = []
    for key, tat, counted_in, now in fetch_rows(store, query, _FAILURE_RANGE):
        judged_at = _epoch(store.clock()) if now is None else float(now)
        current = ratelimit.rescaled(float(tat), _float(counted_in), judged_at, step)
        if current is None or current <= judged_at:
            continue  # nothing counted any more (the worker prunes the row)
        failures = math.ceil((current - judged_at) / step - 1e-9)
        refused = _past_failure_limit(store, tat, counted_in, judged_at)
        address = str(key)[len(FAILURE_BUCKET_PREFIX) :]
        retry_after = refused.retry_after if refused is not None else 0.0
        found.append(LockedAddress(address, failures, refused is not None, retry_after))
    return found


@transaction
def unlock_address(store: Store, address: str, actor: str) -> LockedAddress:
    """Forget the failed authentications counted against a client address (an IP address,
    the /64 an IPv6 one is counted under, or ``unknown``): its next request is judged
    afresh. Audited; NotFound when nothing is counted against it."""
    limited = limited_address_argument(address)
    if limited is None:
        raise InvalidInput(
            "an address is an IP address, an IPv6 /64 as `token locked` shows it, or 'unknown'",
            "address",
        )
    counted = {one.address: one for one in locked_addresses(store)}.get(limited)
    if counted is None:
        raise NotFound(f"no failed authentications are counted against {limited}")
    execute(store.db, _FORGET, {"key": _failure_bucket(limited)})
    record_event(
        store,
        actor,
        AuditAction.ADDRESS_UNLOCKED,
        "address",
        limited,
        limited,
        before={"failures": counted.failures, "locked": counted.locked},
        after={"failures": 0, "locked": False},
    )
    log.warning("client address %s unlocked by %s", safe_field(limited), safe_field(actor))
    return counted


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
