"""Budget leases on SQLite and PostgreSQL: a process admits most of a token's requests from a
lease the database granted it, writing nothing; the token is still checked on every request;
a changed limit drops the lease; unused budget goes back when the process stops."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from pony.orm import db_session

from store.config import RateLimitSettings
from store.context import Store, utc_now
from store.domain import ratelimit
from store.services.rate_leases import leases_of
from store.services.tokens import (
    authenticate,
    issue_token,
    prune_rate_buckets,
    release_rate_leases,
    revoke_token,
    set_token_rate_limit,
)
from tests.support import FakeClock, open_test_store

ADMIN = "operator:alice"
RPM, STEP = 3840, 1 / 64  # a slot is 1/64 s: exact in binary, so the TATs compare exactly
_EPOCH = datetime(1970, 1, 1)


def leasing(store: Store, burst: int = 256) -> Store:
    """The store with a burst that makes leases of up to burst // 4 requests."""
    return replace(
        store, settings=replace(store.settings, rate_limit=RateLimitSettings(RPM, burst, 1000))
    )


def bucket_tat(store: Store, token_id: int) -> float | None:
    with db_session:
        rows = store.db.select(
            'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key', {"key": f"token:{token_id}"}
        )
    return float(rows[0]) if rows else None


def epoch(clock: FakeClock) -> float:
    return (clock.now - _EPOCH).total_seconds()


def test_requests_within_a_lease_write_nothing(store: Store, clock: FakeClock) -> None:
    store = leasing(store)
    issued = issue_token(store, "Okta", ADMIN)
    header = f"Bearer {issued.secret}"
    assert authenticate(store, header, "10.0.5.1").ok  # asks the database: a lease of 64
    tat = bucket_tat(store, issued.record.id)
    assert tat == epoch(clock) + 64 * STEP
    taken = leases_of(store).taken
    for _ in range(40):
        clock.advance(0.01)
        assert authenticate(store, header, "10.0.5.1").ok
    assert bucket_tat(store, issued.record.id) == tat  # not one write for 40 requests
    assert leases_of(store).taken == taken + 40
    clock.advance(1.0)  # the lease has ended: the next request asks for a new one
    assert authenticate(store, header, "10.0.5.1").ok
    assert bucket_tat(store, issued.record.id) == epoch(clock) + 64 * STEP


def test_a_lease_admits_no_more_than_the_burst(store: Store, clock: FakeClock) -> None:
    """Clock frozen: the burst plus one, whether from leases or not, then refusals."""
    store = leasing(store, burst=40)  # leases of 10
    header = f"Bearer {issue_token(store, 'Entra', ADMIN).secret}"
    outcomes = [authenticate(store, header, "10.0.5.2").ok for _ in range(60)]
    assert outcomes == [True] * 41 + [False] * 19


def test_a_revoked_token_fails_at_once_though_its_lease_has_budget(
    store: Store, store_url: str
) -> None:
    store = leasing(store)
    issued = issue_token(store, "JumpCloud", ADMIN)
    header = f"Bearer {issued.secret}"
    assert authenticate(store, header, "10.0.5.3").ok
    assert leases_of(store).held  # budget left in this process
    operator = replace(open_test_store(store_url), clock=store.clock)  # another process
    try:
        revoke_token(operator, "JumpCloud", ADMIN)
    finally:
        operator.close()
    refused = authenticate(store, header, "10.0.5.3")
    assert (refused.ok, refused.reason) == (False, "revoked")
    assert f"token:{issued.record.id}" not in leases_of(store).held


def test_a_changed_limit_drops_the_lease(store: Store, store_url: str, clock: FakeClock) -> None:
    store = leasing(store)
    issued = issue_token(store, "Okta limits", ADMIN)
    header = f"Bearer {issued.secret}"
    assert authenticate(store, header, "10.0.5.4").ok
    before = bucket_tat(store, issued.record.id)
    operator = replace(open_test_store(store_url), clock=store.clock)
    try:
        set_token_rate_limit(operator, "Okta limits", 60, ADMIN)  # one a second from now on
    finally:
        operator.close()
    assert authenticate(store, header, "10.0.5.4").ok  # judged by the database again
    after = bucket_tat(store, issued.record.id)
    # The lease's 64 slots count as 64 requests of the new limit (64 seconds), then this
    # request's slot: the lower limit does not hand the token a second burst.
    assert before == epoch(clock) + 64 * STEP
    assert after == epoch(clock) + 64 * 1.0 + 1.0


def _limit_of(store: Store, store_url: str, name: str, rate_limit: int) -> None:
    """Change a token's limit from another process, as the operator's CLI does."""
    operator = replace(open_test_store(store_url), clock=store.clock)
    try:
        set_token_rate_limit(operator, name, rate_limit, ADMIN)
    finally:
        operator.close()


def test_a_raised_limit_takes_effect_at_once(
    store: Store, store_url: str, clock: FakeClock
) -> None:
    """One a minute with a burst of 8, used up: nine requests owe nine minutes. Raised to 64
    a second, the same nine requests owe nine sixty-fourths of a second, not nine minutes."""
    store = leasing(store, burst=8)
    header = f"Bearer {issue_token(store, 'Okta raised', ADMIN, rate_limit=1).secret}"
    assert [authenticate(store, header, "10.0.5.8").ok for _ in range(10)] == [True] * 9 + [False]
    _limit_of(store, store_url, "Okta raised", RPM)
    refused = authenticate(store, header, "10.0.5.8")
    assert (refused.ok, refused.reason) == (False, "rate_limited")  # still nine requests owed
    assert refused.retry_after <= STEP
    clock.advance(STEP)
    assert authenticate(store, header, "10.0.5.8").ok


def test_a_lowered_limit_hands_out_no_second_burst(
    store: Store, store_url: str, clock: FakeClock
) -> None:
    """64 a second with a burst of 8, used up in an instant; lowered to one a second, the
    token has still used its nine requests: nothing more until one second has passed."""
    store = leasing(store, burst=8)
    issued = issue_token(store, "Okta lowered", ADMIN, rate_limit=RPM)
    header = f"Bearer {issued.secret}"
    assert [authenticate(store, header, "10.0.5.9").ok for _ in range(10)] == [True] * 9 + [False]
    _limit_of(store, store_url, "Okta lowered", 60)
    assert [authenticate(store, header, "10.0.5.9").ok for _ in range(10)] == [False] * 10
    clock.advance(1.0)
    assert [authenticate(store, header, "10.0.5.9").ok for _ in range(3)] == [True, False, False]


def test_stopping_gives_back_the_budget_not_used(store: Store, clock: FakeClock) -> None:
    store = leasing(store)
    issued = issue_token(store, "Okta stop", ADMIN)
    header = f"Bearer {issued.secret}"
    start = epoch(clock)
    for _ in range(3):
        assert authenticate(store, header, "10.0.5.5").ok
    assert bucket_tat(store, issued.record.id) == start + 64 * STEP
    assert release_rate_leases(store) == 1
    assert bucket_tat(store, issued.record.id) == start + 3 * STEP  # the 61 unused are back
    assert not leases_of(store).held


def test_nothing_is_given_back_over_a_later_grant(
    store: Store, store_url: str, clock: FakeClock
) -> None:
    """Budget granted after this process's lease sits beyond it: giving back would hand the
    same slots out twice, so the unused ones pass like idle time."""
    store = leasing(store)
    issued = issue_token(store, "Okta stacked", ADMIN)
    header = f"Bearer {issued.secret}"
    other = leasing(replace(open_test_store(store_url), clock=store.clock))
    try:
        assert authenticate(store, header, "10.0.5.6").ok
        clock.advance(0.5)
        assert authenticate(other, header, "10.0.5.6").ok  # stacked after the first lease
        stacked = bucket_tat(store, issued.record.id)
        assert release_rate_leases(store) == 0
        assert bucket_tat(store, issued.record.id) == stacked
        assert release_rate_leases(other) == 1  # the last lease can go back
    finally:
        other.close()
    assert ratelimit.lease_size(256) == 64


def test_a_worker_whose_clock_runs_ahead_prunes_no_budget_in_use(
    store: Store, backend: str
) -> None:
    """PostgreSQL judges a token's budget by the database's clock, so that API processes on
    several hosts agree; the worker pruning recovered buckets may run on a host whose clock
    is ahead of the database's. A bucket it deleted early would hand the token a fresh burst.
    (SQLite: one host, one clock for everything.)"""
    if backend != "postgresql":
        pytest.skip("only PostgreSQL judges by a clock other than the processes' own")
    server = replace(leasing(store, burst=0), clock=utc_now)  # the database's clock judges
    header = f"Bearer {issue_token(server, 'Okta skewed', ADMIN, rate_limit=1).secret}"
    assert authenticate(server, header, "10.0.5.7").ok  # the next slot is a minute away
    assert authenticate(server, header, "10.0.5.7").reason == "rate_limited"
    worker = replace(store, clock=lambda: utc_now() + timedelta(minutes=5))
    prune_rate_buckets(worker)
    assert authenticate(server, header, "10.0.5.7").reason == "rate_limited"
