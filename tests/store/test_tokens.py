"""SCIM tokens on SQLite and PostgreSQL: issue once, hashes only, verify, revoke, rate limits."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import replace

import pytest
from pony.orm import db_session

from store.config import RateLimitSettings
from store.context import Store
from store.db import table_names
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.identity import audit_events
from store.queries.tokens import get_token, list_tokens
from store.services.tokens import (
    authenticate,
    issue_token,
    prune_rate_buckets,
    revoke_token,
    set_token_rate_limit,
)
from tests.support import FakeClock, open_test_store

ADMIN = "operator:alice"


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


def dump_database(store: Store) -> str:
    """Every row of every table as text, to search for a value that must not be stored."""
    chunks = []
    with db_session:
        for table in table_names(store.db):
            chunks.append(repr(store.db.select(f"SELECT * FROM {table}")))
    return "\n".join(chunks)


def test_issue_shows_the_secret_once_and_stores_only_its_hash(store: Store) -> None:
    issued = issue_token(store, "Okta SCIM", ADMIN)
    secret = issued.secret
    assert secret.startswith("tscim_") and len(secret) == 6 + 43
    assert issued.record.prefix == secret[:10]
    assert secret not in repr(issued)
    dumped = dump_database(store)
    assert secret not in dumped
    assert secret[6:20] not in dumped  # not even a large piece of it
    assert hashlib.sha256(secret.encode()).hexdigest() in dumped
    listed = list_tokens(store)
    assert [t.name for t in listed] == ["Okta SCIM"]
    assert listed[0].status == "active" and listed[0].created_by == ADMIN
    assert secret not in repr(listed)
    events = audit_events(store, "token")
    assert [e.action for e in events] == ["token.issued"]
    assert secret not in repr(events)


def test_two_tokens_get_different_secrets(store: Store) -> None:
    first = issue_token(store, "Okta", ADMIN).secret
    second = issue_token(store, "Entra", ADMIN).secret
    assert first != second


def test_valid_token_authenticates_and_marks_last_used(store: Store, clock: FakeClock) -> None:
    issued = issue_token(store, "Entra", ADMIN)
    result = authenticate(store, bearer(issued.secret), "10.0.0.1")
    assert result.ok and result.token_name == "Entra" and result.token_id == issued.record.id
    assert get_token(store, "entra").last_used is not None
    first_use = get_token(store, "Entra").last_used
    clock.advance(5)
    assert authenticate(store, bearer(issued.secret), "10.0.0.1").ok
    assert get_token(store, "Entra").last_used == first_use  # not a write per request
    clock.advance(60)
    assert authenticate(store, bearer(issued.secret), "10.0.0.1").ok
    assert get_token(store, "Entra").last_used > first_use


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer a b", "malformed"),
        ("Bearer short", "malformed"),
        ("Bearer tscim_" + "x" * 200, "malformed"),
        ("Bearer tscim_'; DROP TABLE scim_token;--", "malformed"),
        ("Bearer tscim_" + "A" * 43, "unknown"),
        ("Bearer abcdefghijklmnopqrstuvwxyz0123456789", "unknown"),
    ],
)
def test_bad_headers_are_refused_with_a_reason(
    store: Store, header: str | None, reason: str
) -> None:
    issue_token(store, "Okta", ADMIN)
    result = authenticate(store, header, "10.0.0.2")
    assert not result.ok and result.reason == reason and result.token_id is None


def test_scheme_is_case_insensitive_and_spaces_tolerated(store: Store) -> None:
    secret = issue_token(store, "JumpCloud", ADMIN).secret
    assert authenticate(store, f"bearer {secret}", "10.0.0.3").ok
    assert authenticate(store, f"BEARER   {secret}  ", "10.0.0.3").ok


def test_revoked_token_fails_on_its_very_next_request(store: Store) -> None:
    secret = issue_token(store, "Okta SCIM", ADMIN).secret
    assert authenticate(store, bearer(secret), "10.0.0.4").ok
    revoked = revoke_token(store, "okta scim", ADMIN)
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    result = authenticate(store, bearer(secret), "10.0.0.4")
    assert not result.ok and result.reason == "revoked"
    assert [e.action for e in audit_events(store, "token")] == ["token.revoked", "token.issued"]


def test_revoked_name_can_be_reused_and_old_token_stays_dead(store: Store) -> None:
    old = issue_token(store, "Okta SCIM", ADMIN).secret
    revoke_token(store, "Okta SCIM", ADMIN)
    with pytest.raises(InvalidInput, match="--connection"):
        issue_token(store, "OKTA scim", ADMIN)  # its connection exists: name it
    new = issue_token(store, "OKTA scim", ADMIN, connection="okta SCIM").secret
    assert authenticate(store, bearer(new), "10.0.0.5").ok
    assert authenticate(store, bearer(old), "10.0.0.5").reason == "revoked"
    statuses = [(t.name, t.status) for t in list_tokens(store)]
    assert statuses == [("OKTA scim", "active"), ("Okta SCIM", "revoked")]
    revoke_token(store, "Okta SCIM", ADMIN)  # revokes the new one; the old stays listed
    assert all(t.status == "revoked" for t in list_tokens(store))


def test_names_are_unique_case_insensitively_among_active_tokens(store: Store) -> None:
    issue_token(store, "Straße", ADMIN)
    with pytest.raises(Conflict):
        issue_token(store, "STRASSE", ADMIN)
    with pytest.raises(Conflict):
        issue_token(store, "  straße ", ADMIN)
    assert len(list_tokens(store)) == 1


@pytest.mark.parametrize(
    ("name", "rate_limit"),
    [("", None), ("   ", None), ("x" * 129, None), ("bad\nname", None), ("ok", 0), ("ok", -5)],
)
def test_invalid_names_and_limits_are_refused(
    store: Store, name: str, rate_limit: int | None
) -> None:
    with pytest.raises(InvalidInput):
        issue_token(store, name, ADMIN, rate_limit=rate_limit)
    assert list_tokens(store) == []


def test_revoke_unknown_token_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        revoke_token(store, "nope", ADMIN)
    issue_token(store, "once", ADMIN)
    revoke_token(store, "once", ADMIN)
    with pytest.raises(NotFound):
        revoke_token(store, "once", ADMIN)


def test_token_rate_limit_burst_then_refused_then_recovers(store: Store, clock: FakeClock) -> None:
    secret = issue_token(store, "Okta", ADMIN).secret  # defaults: 60/min, burst 10
    results = [authenticate(store, bearer(secret), "10.0.1.1") for _ in range(12)]
    assert [r.ok for r in results] == [True] * 11 + [False]
    refused = results[-1]
    assert refused.reason == "rate_limited" and refused.token_name == "Okta"
    assert refused.retry_after == pytest.approx(1.0)
    clock.advance(0.5)
    assert authenticate(store, bearer(secret), "10.0.1.1").reason == "rate_limited"
    clock.advance(0.5)
    assert authenticate(store, bearer(secret), "10.0.1.1").ok
    assert authenticate(store, bearer(secret), "10.0.1.1").reason == "rate_limited"
    clock.advance(60)
    assert all(authenticate(store, bearer(secret), "10.0.1.1").ok for _ in range(11))


def test_per_token_rate_limit_and_independent_buckets(store: Store, clock: FakeClock) -> None:
    slow = issue_token(store, "slow", ADMIN, rate_limit=6).secret  # one per 10 s
    fast = issue_token(store, "fast", ADMIN).secret
    assert sum(authenticate(store, bearer(slow), "10.0.1.2").ok for _ in range(13)) == 11
    refused = authenticate(store, bearer(slow), "10.0.1.2")
    assert refused.reason == "rate_limited" and refused.retry_after == pytest.approx(10.0)
    assert authenticate(store, bearer(fast), "10.0.1.2").ok  # another token, another bucket
    clock.advance(10)
    assert authenticate(store, bearer(slow), "10.0.1.2").ok


def test_set_token_rate_limit(store: Store, clock: FakeClock) -> None:
    secret = issue_token(store, "Entra", ADMIN).secret
    record = set_token_rate_limit(store, "entra", 1500, ADMIN)
    assert record.rate_limit == 1500

    def spaced(n: int) -> int:  # n requests 0.1 s apart: 600/min, above the default 60
        admitted = 0
        for _ in range(n):
            admitted += authenticate(store, bearer(secret), "10.0.1.3").ok
            clock.advance(0.1)
        return admitted

    assert spaced(30) == 30
    assert set_token_rate_limit(store, "Entra", None, ADMIN).rate_limit is None
    clock.advance(60)
    assert spaced(30) < 30
    with pytest.raises(InvalidInput):
        set_token_rate_limit(store, "Entra", 0, ADMIN)
    with pytest.raises(NotFound):
        set_token_rate_limit(store, "nope", 10, ADMIN)
    assert [e.action for e in audit_events(store, "token")][:2] == ["token.rate_limit"] * 2


def test_global_limits_come_from_settings(store: Store) -> None:
    tight = replace(
        store, settings=replace(store.settings, rate_limit=RateLimitSettings(30, 2, 10))
    )
    secret = issue_token(tight, "Okta", ADMIN).secret
    assert [authenticate(tight, bearer(secret), "10.0.1.4").ok for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]


def test_failed_authentications_are_limited_per_client_address(
    store: Store, clock: FakeClock
) -> None:
    secret = issue_token(store, "Okta", ADMIN).secret
    wrong = bearer("tscim_" + "B" * 43)
    failures = [authenticate(store, wrong, "203.0.113.9") for _ in range(10)]
    assert {r.reason for r in failures} == {"unknown"}
    limited = authenticate(store, wrong, "203.0.113.9")
    assert limited.reason == "rate_limited" and limited.token_id is None
    assert limited.retry_after == pytest.approx(6.0)
    assert authenticate(store, None, "203.0.113.9").reason == "rate_limited"
    assert authenticate(store, "Basic eA==", "203.0.113.9").reason == "rate_limited"
    # Checked before any token lookup: a correct guess from that address is refused too,
    # without naming the token or touching its bucket.
    correct = authenticate(store, bearer(secret), "203.0.113.9")
    assert (correct.ok, correct.reason, correct.token_id) == (False, "rate_limited", None)
    with db_session:
        assert store.db.RateBucket.select(lambda b: b.key.startswith("token:")).count() == 0
    assert authenticate(store, bearer(secret), "198.51.100.7").ok  # other address
    assert authenticate(store, wrong, "198.51.100.7").reason == "unknown"  # other address
    clock.advance(6)
    assert authenticate(store, wrong, "203.0.113.9").reason == "unknown"
    assert authenticate(store, wrong, "203.0.113.9").reason == "rate_limited"
    clock.advance(60)
    assert [authenticate(store, wrong, "203.0.113.9").reason for _ in range(11)] == [
        "unknown"
    ] * 10 + ["rate_limited"]


def test_failure_limit_zero_switches_it_off(store: Store) -> None:
    open_door = replace(
        store, settings=replace(store.settings, rate_limit=RateLimitSettings(60, 10, 0))
    )
    reasons = {
        authenticate(open_door, "Bearer nope-nope-nope-nope", "10.0.9.9").reason for _ in range(30)
    }
    assert reasons == {"unknown"}


def test_prune_rate_buckets_drops_only_recovered_buckets(store: Store, clock: FakeClock) -> None:
    secret = issue_token(store, "Okta", ADMIN).secret
    authenticate(store, bearer(secret), "10.0.8.1")
    authenticate(store, None, "10.0.8.2")
    assert prune_rate_buckets(store) == 0  # both still carry state
    clock.advance(2)
    for _ in range(10):
        authenticate(store, bearer(secret), "10.0.8.1")
    clock.advance(7)  # the failure bucket has recovered, the token's has not
    assert prune_rate_buckets(store) == 1
    with db_session:
        assert [b.key for b in store.db.RateBucket.select()] == [
            f"token:{list_tokens(store)[0].id}"
        ]


def test_failure_logs_show_only_the_display_prefix(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    secret = issue_token(store, "Okta", ADMIN).secret
    revoke_token(store, "Okta", ADMIN)
    with caplog.at_level(logging.DEBUG):
        assert authenticate(store, bearer(secret), "10.0.2.1").reason == "revoked"
        authenticate(store, "Bearer tscim_" + "C" * 43, "10.0.2.1")
    assert secret[:10] in caplog.text
    assert secret not in caplog.text and secret[:16] not in caplog.text
    assert "C" * 10 not in caplog.text


def test_rate_limit_holds_across_processes(store: Store, store_url: str) -> None:
    """Two bound stores (as two API processes) on one database share the token's bucket,
    and eight threads hammering both admit exactly the burst."""
    secret = issue_token(store, "Okta", ADMIN).secret
    other = replace(open_test_store(store_url), clock=store.clock)
    try:
        allowed: list[bool] = []
        lock = threading.Lock()

        def client(target: Store) -> None:
            for _ in range(6):
                ok = authenticate(target, bearer(secret), "10.0.3.1").ok
                with lock:
                    allowed.append(ok)

        threads = [threading.Thread(target=client, args=(s,)) for s in [store, other] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(allowed) == 48
        assert sum(allowed) == 11  # 60/min with a burst of 10, clock frozen
    finally:
        other.close()


def test_authentication_leaves_no_session_state_on_the_connection(
    store: Store, backend: str
) -> None:
    """Connections are reused by the next transaction on the same thread without a session
    reset: the authentication's relaxed commit (PostgreSQL: ``SET LOCAL``) must end with its
    transaction, or every SCIM change after it would commit without waiting for its WAL."""
    if backend != "postgresql":
        pytest.skip("SQLite has no per-connection commit setting to leak")
    secret = issue_token(store, "Okta", ADMIN).secret
    with db_session:  # the product's default on this connection (test databases turn it off)
        store.db.execute("SET synchronous_commit TO on")
    assert authenticate(store, bearer(secret), "10.0.4.1").ok
    with db_session:
        assert store.db.select("SELECT current_setting('synchronous_commit')") == ["on"]


@pytest.mark.parametrize("name", ["Okta\u202eTCS", "Okta\u200bSCIM", "Okta\u2066x", "Okta\x1b]0;x"])
def test_a_token_name_that_could_pass_for_another_on_screen_is_refused(
    store: Store, name: str
) -> None:
    # Issued into an existing connection, the name is not checked as a connection name: the
    # token rule itself must refuse bidi, invisible and control characters.
    issue_token(store, "Okta", ADMIN)
    with pytest.raises(InvalidInput, match="control or invisible"):
        issue_token(store, name, ADMIN, connection="Okta")
    assert [t.name for t in list_tokens(store)] == ["Okta"]
