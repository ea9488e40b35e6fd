"""The limit on failed authentications per client address: one budget per address, however
the address is written, on one clock, whichever process or host counts the failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from pony.orm import db_session

from store.config import RateLimitSettings
from store.context import HostClock, Store
from store.services.tokens import authenticate, issue_token, revoke_token
from tests.support import open_test_store

ADMIN = "operator:alice"
WRONG = "Bearer tscim_" + "x" * 43  # one of ours by its shape, but no such token


def failures_a_minute(store: Store, per_minute: int) -> Store:
    limits = RateLimitSettings(60, 10, per_minute)
    return replace(store, settings=replace(store.settings, rate_limit=limits))


def bucket_keys(store: Store) -> set[str]:
    with db_session:
        return set(store.db.select('SELECT "key" FROM "rate_bucket"'))


@pytest.fixture
def hosts(store: Store, store_url: str, backend: str) -> Iterator[tuple[Store, Store]]:
    """Two API processes on one PostgreSQL database: one on a host whose clock is right, one
    on a host whose clock runs five minutes ahead."""
    if backend != "postgresql":
        pytest.skip("SQLite is one host: every process reads the same clock")
    other = open_test_store(store_url)
    try:
        yield (replace(store, clock=HostClock()),
               replace(other, clock=HostClock(timedelta(minutes=5))))  # fmt: skip
    finally:
        other.close()


def test_hosts_whose_clocks_disagree_share_one_failure_budget(
    hosts: tuple[Store, Store],
) -> None:
    """One failure a minute: the second, on the host whose clock is ahead, is refused. Judged
    by each host's own clock, the failure counted on the first host looked five minutes old
    there, and the address got a second budget."""
    right, ahead = (failures_a_minute(host, 1) for host in hosts)
    assert authenticate(right, WRONG, "198.51.100.4").reason == "unknown"
    assert authenticate(ahead, WRONG, "198.51.100.4").reason == "rate_limited"


def test_a_host_clock_ahead_locks_no_address_out(hosts: tuple[Store, Store]) -> None:
    """Ten failures a minute: one failure counted on the host whose clock is ahead leaves
    nine. Judged by each host's own clock, that one failure sat five minutes in the future
    on the other host, and every request from the address was refused there."""
    right, ahead = hosts
    secret = issue_token(right, "Okta", ADMIN).secret
    assert authenticate(ahead, WRONG, "198.51.100.5").reason == "unknown"
    assert authenticate(right, f"Bearer {secret}", "198.51.100.5").ok
    assert authenticate(right, WRONG, "198.51.100.5").reason == "unknown"


def test_an_address_has_one_budget_however_it_is_written(store: Store) -> None:
    """An IPv6 client's budget is its /64 (a host there can use any of 2^64 addresses), an
    IPv4 address seen as IPv6 is the IPv4 one, and what is no IP address at all shares one
    budget: the stored keys are canonical address text only."""
    store = failures_a_minute(store, 1)
    first = [
        ("2001:db8:0:1::1", "2001:0db8:0000:0001:ffff::2"),
        ("203.0.113.5", "::ffff:203.0.113.5"),
        ("unix:/run/trident.sock", "x" * 300 + "\n203.0.113.6"),
    ]
    for one, same in first:
        assert authenticate(store, WRONG, one).reason == "unknown", one
        assert authenticate(store, WRONG, same).reason == "rate_limited", same
    assert authenticate(store, WRONG, "2001:db8:0:2::1").reason == "unknown"  # another /64
    assert bucket_keys(store) == {
        "authfail:2001:db8:0:1::/64",
        "authfail:2001:db8:0:2::/64",
        "authfail:203.0.113.5",
        "authfail:unknown",
    }


def test_a_revoked_token_counts_against_the_same_budget(store: Store) -> None:
    store = failures_a_minute(store, 1)
    secret = issue_token(store, "JumpCloud", ADMIN).secret
    revoke_token(store, "JumpCloud", ADMIN)
    assert authenticate(store, f"Bearer {secret}", "::ffff:192.0.2.9").reason == "revoked"
    assert authenticate(store, WRONG, "192.0.2.9").reason == "rate_limited"
    assert bucket_keys(store) == {"authfail:192.0.2.9"}
