"""Control's browser sessions: start on SSO sign-in, check on every web request, end, expire.

A session id is a random secret handed to the browser as a cookie; the store keeps only its
SHA-256 and compares in constant time. ``check_session`` is on the hot path of Control's web
tier: a few indexed reads and one ``last_seen`` update per accepted request. That write is not
throttled: the idle timeout counts from the last request to the second, and a skipped write
would count from an older one and sign a user out early. Ending the
sessions of one user goes through ``lifecycle.end_user_sessions``, the same code the
deactivation uses. Nothing here logs or returns a session secret except ``start_session``.

A session also records where its browser is: the client's IP address and User-Agent, given
by Control's sign-in when the session starts and by a trusted proxy on each accepted check
(written with ``last_seen``, in the same statement). An address is kept only when it is an
IP address (``store.domain.clients``); a check that names none keeps the one recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from pony.orm import flush

from store.context import Store
from store.domain import limits
from store.domain.clients import ip_text, user_agent_text
from store.domain.enums import AuditAction, SessionEnd
from store.domain.names import fold
from store.domain.sessions import (
    SessionState,
    idle_cut,
    idle_timeout,
    invalid_reason,
    sql_invalid,
)
from store.domain.tokens import (
    SECRET_BYTES,
    SESSION_PREFIX,
    encode_secret,
    hash_secret,
    hashes_match,
    looks_like_secret,
)
from store.errors import InvalidInput, NotFound
from store.queries.filtering import chunked_in, fetch_rows, sql_naive, sql_timestamp
from store.queries.identity import find_user_entity, session_record
from store.records import SessionCheck, SessionClient, SessionRecord
from store.services.audit import record_event
from store.services.lifecycle import SUSPENDED, end_user_sessions, lock_user
from store.sql import execute
from store.tx import transaction

log = logging.getLogger(__name__)

MAX_SESSION_COOKIES = 20
"""Session cookies of one request looked at, at most: a browser may hold several (one per
path or domain, stale ones), and junk cookies in front of the live one must not sign the user
out; the bound keeps one request from costing more than 20 lookups."""
_CHEAP_REFUSALS = ("missing", "malformed", "unknown")
SWEEP_BATCH = 5000
"""Sessions one expiry sweep ends at most, to keep its transaction short."""


def _idle_timeout(store: Store) -> timedelta | None:
    return idle_timeout(store.settings.sessions.idle_timeout_minutes)


def _client(client: SessionClient | None) -> SessionClient:
    """What is kept of ``client``: its address if it is an IP address, its User-Agent capped."""
    if client is None:
        return SessionClient()
    return SessionClient(ip_text(client.address), user_agent_text(client.user_agent))


@transaction
def start_session(
    store: Store, user_name: str, actor: str, client: SessionClient | None = None
) -> tuple[SessionRecord, str]:
    """Start a session for the active user holding ``user_name`` (the name the SSO sign-in
    asserted, in any spelling that folds to it; never a user id); returns it with the cookie
    value (shown once).
    ``client`` is the browser as Control's sign-in saw it; an address that is not an IP
    address is refused (``InvalidInput``), never stored."""
    kept = _client(client)
    if client is not None and client.address is not None and kept.address is None:
        raise InvalidInput("the client address must be an IPv4 or IPv6 address", "address")
    user = find_user_entity(store, user_name)
    if user is None or user.user_name_key != fold(user_name):
        # Sign-in is by userName only: a name that is another user's id (and nobody's
        # userName) must not open that user's account.
        raise NotFound(f"user {user_name!r} not found")
    user = lock_user(store, user.id)  # a concurrent deactivation cannot slip in between
    if not user.active:
        raise InvalidInput(f"user {user.user_name!r} is inactive and cannot sign in", "userName")
    secret = encode_secret(SESSION_PREFIX, store.random_bytes(SECRET_BYTES))
    now = store.clock()
    absolute = timedelta(minutes=store.settings.sessions.absolute_timeout_minutes)
    session = store.db.Session(
        secret_hash=hash_secret(secret),
        user=user,
        created=now,
        last_seen=now,
        expires_at=now + absolute,
        client_address=kept.address,
        user_agent=kept.user_agent,
    )
    flush()
    record_event(
        store,
        actor,
        AuditAction.SESSION_STARTED,
        "user",
        user.id,
        user.user_name,
        detail=f"session {session.id} until {(now + absolute).isoformat()}Z",
    )
    return session_record(session), secret


AMBIGUOUS = "ambiguous"
"""The refusal of a request carrying live sessions of two different users."""


def check_session_cookies(
    store: Store, values: Sequence[str], client: SessionClient | None = None
) -> SessionCheck:
    """Is any of the first ``MAX_SESSION_COOKIES`` cookie values a live session? The first
    live one is the answer, and records ``client``; otherwise the refusal of a real session
    (ended, expired, user inactive...) tells the user more than one of junk. Live sessions
    of two different users are refused (``AMBIGUOUS``): a sibling site can set a cookie
    for Control's domain, and its own session in front of (or behind) the victim's must not
    decide who the browser is."""
    values = values[:MAX_SESSION_COOKIES]
    if len(values) == 1:
        return check_session(store, values[0], client)
    refusal, live = SessionCheck(False, "missing"), None
    for value in values:
        check = check_session(store, value, client, touch=False)
        if check.valid and live is None:
            live = value, check
        elif check.valid and live is not None and check.user_id != live[1].user_id:
            return SessionCheck(False, AMBIGUOUS)
        elif not check.valid and refusal.reason in _CHEAP_REFUSALS:
            refusal = check
    return refusal if live is None else check_session(store, live[0], client)


def check_session(
    store: Store, cookie_value: str | None, client: SessionClient | None = None,
    touch: bool = True,
) -> SessionCheck:  # fmt: skip
    """Is this cookie a live session of an active user? Cheap rejections need no database.
    A live one's ``last_seen`` moves to now, with ``client`` (where given) as its browser,
    unless ``touch`` is off."""
    if not cookie_value:
        return SessionCheck(False, "missing")
    if not cookie_value.startswith(SESSION_PREFIX) or not looks_like_secret(cookie_value):
        return SessionCheck(False, "malformed")
    return _check(store, cookie_value, _client(client), touch)


def _state_of_row(
    ended: Stamp | None, expires: Stamp, seen: Stamp, gone: Stamp | None, active: object
) -> SessionState:
    """From raw column values (SQLite hands timestamps back as text)."""
    return SessionState(
        _when(ended), sql_naive(expires), sql_naive(seen), _when(gone), bool(active)
    )


Stamp = datetime | str
"""A raw timestamp column (SQLite hands it back as text)."""

# Bound parameters only: $digest, $now and $session_id are Python names of this module. The
# check runs on every page view of Control, so it reads plain rows instead of entities.
_SESSION_BY_HASH = (
    'SELECT s."id", s."secret_hash", s."ended_at", s."expires_at", s."last_seen", '
    'u."id", u."user_name", u."display_name", u."active", u."deleted_at" '
    'FROM "control_session" s JOIN "scim_user" u ON u."id" = s."user" '
    'WHERE s."secret_hash" = $digest'
)
_ROLE_NAMES = (
    'SELECT DISTINCT a."role" FROM "control_role_assignment" a '
    'WHERE a."user" = $user_id AND a."source" <> $suspended'
)
# Open sessions the rule says are over, oldest first (the sweep's batch).
_STALE = (
    'SELECT s."id", s."ended_at", s."expires_at", s."last_seen", u."deleted_at", u."active" '
    'FROM "control_session" s JOIN "scim_user" u ON u."id" = s."user" '
    'WHERE s."ended_at" IS NULL AND '
    + sql_invalid("s", "u", "$now", "$cut")
    + ' ORDER BY s."id" LIMIT $batch'
)
_END = 'UPDATE "control_session" SET "ended_at" = $now, "end_reason" = $reason WHERE {condition}'
# Never backwards: a request that read the clock earlier may be checked after a later one.
# A check that names no address or User-Agent keeps the recorded one.
_SEEN = (
    'UPDATE "control_session" SET "last_seen" = $now, '
    '"client_address" = COALESCE($address, "client_address"), '
    '"user_agent" = COALESCE($agent, "user_agent") '
    'WHERE "id" = $session_id AND "last_seen" < $now'
)


def _when(value: Stamp | None) -> datetime | None:
    return None if value is None else sql_naive(value)


@transaction
def _check(store: Store, secret: str, client: SessionClient, touch: bool = True) -> SessionCheck:
    db = store.db
    rows = fetch_rows(store, _SESSION_BY_HASH, {"digest": hash_secret(secret)})
    if not rows or not hashes_match(rows[0][1], secret):
        return SessionCheck(False, "unknown")
    session_id, _digest, ended, expires, seen, user_id, user_name, display_name, active, gone = (
        rows[0]
    )
    state = _state_of_row(ended, expires, seen, gone, active)
    now = store.clock()
    reason = invalid_reason(state, now, _idle_timeout(store))
    if reason:
        return SessionCheck(False, reason, user_id=user_id)
    if touch and now > state.last_seen:
        seen = {"now": sql_timestamp(store, now), "session_id": session_id}
        seen |= {"address": client.address, "agent": client.user_agent}
        execute(db, _SEEN, seen)
    roles = fetch_rows(store, _ROLE_NAMES, {"user_id": user_id, "suspended": SUSPENDED})
    return SessionCheck(
        True,
        "",
        user_id=user_id,
        user_name=user_name,
        display_name=display_name,
        roles=tuple(sorted(str(role) for (role,) in roles)),
    )


@transaction
def end_sessions(store: Store, user_name: str, actor: str, by_id: bool = False) -> int:
    """End every open session of a user (operator action); returns how many ended."""
    user = find_user_entity(store, user_name, by_id=by_id)
    if user is None:
        raise NotFound(f"user {user_name!r} not found")
    user = lock_user(store, user.id)
    ended = end_user_sessions(store, user, f"ended by {actor}")
    record_event(
        store,
        actor,
        AuditAction.SESSIONS_ENDED,
        "user",
        user.id,
        user.user_name,
        detail=f"{ended} session(s) ended",
    )
    return ended


@transaction
def end_session(store: Store, session_id: int, user_id: str, actor: str) -> bool:
    """End one session of the user (operator action), audited on the user; False when it
    had ended already. A session id of another user is not found (the caller names both)."""
    session = store.db.Session.get(id=session_id)
    if session is None or session.user.id != user_id:
        raise NotFound(f"no session {session_id} of this user")
    if session.ended_at is not None:
        return False
    session.ended_at = store.clock()
    session.end_reason = f"ended by {actor}"[: limits.SESSION_END]
    record_event(
        store,
        actor,
        AuditAction.SESSION_ENDED,
        "user",
        user_id,
        session.user.user_name,
        detail=f"session {session_id} (started {session.created:%Y-%m-%d %H:%M} UTC) ended",
    )
    return True


@transaction
def expire_sessions(store: Store) -> int:
    """Worker sweep: end open sessions past their absolute or idle timeout, and any open
    session of an inactive or deleted user (a repair: deactivation ends them already).
    Idempotent; ends at most ``SWEEP_BATCH`` per call."""
    now = store.clock()
    idle = _idle_timeout(store)
    params = {
        "now": sql_timestamp(store, now),
        "cut": sql_timestamp(store, idle_cut(now, idle)),
        "batch": SWEEP_BATCH,
    }
    by_reason: dict[SessionEnd, list[int]] = {}
    for session_id, *columns in fetch_rows(store, _STALE, params):
        reason = invalid_reason(_state_of_row(*columns), now, idle) or SessionEnd.EXPIRED
        by_reason.setdefault(reason, []).append(int(session_id))
    for reason, ids in by_reason.items():
        for condition, chunk in chunked_in('"id"', ids):
            execute(
                store.db,
                _END.format(condition=condition),
                {**params, **chunk, "reason": reason.value},
            )
    users_gone = (SessionEnd.USER_DELETED, SessionEnd.USER_INACTIVE)
    repaired = sum(len(ids) for reason, ids in by_reason.items() if reason in users_gone)
    if repaired:
        log.warning("ended %d open session(s) of inactive or deleted users", repaired)
    return sum(len(ids) for ids in by_reason.values())
