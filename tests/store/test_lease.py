"""Leases on SQLite and PostgreSQL: one holder at a time, renewal, expiry handover, release."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.leases import LIVE_SQL, TAKEOVER_SQL, is_live
from store.services.lease import acquire_lease, current_leader, epoch_now, release_lease
from tests.support import FakeClock


def test_second_holder_waits_until_the_first_lease_expires(store: Store) -> None:
    assert acquire_lease(store, "worker", "a", 10, now=1000.0)
    assert not acquire_lease(store, "worker", "b", 10, now=1005.0)
    assert current_leader(store, "worker", now=1009.9) == "a"
    assert acquire_lease(store, "worker", "b", 10, now=1010.5)
    assert current_leader(store, "worker", now=1010.5) == "b"
    assert not acquire_lease(store, "worker", "a", 10, now=1011.0)


def test_a_lease_is_held_through_the_instant_it_expires(store: Store) -> None:
    """The boundary, one rule for every reader: a lease until T is live at T (``current_leader``
    and the live-process check say so), so nobody may take it over at T, only after T."""
    assert acquire_lease(store, "worker", "a", 10, now=1000.0)  # until 1010.0
    assert current_leader(store, "worker", now=1010.0) == "a"
    assert not acquire_lease(store, "worker", "b", 10, now=1010.0)
    assert current_leader(store, "worker", now=1010.0) == "a"
    assert current_leader(store, "worker", now=1010.001) is None
    assert acquire_lease(store, "worker", "b", 10, now=1010.001)
    assert current_leader(store, "worker", now=1010.001) == "b"


def test_holder_renews_its_own_lease(store: Store) -> None:
    assert acquire_lease(store, "worker", "a", 10, now=1000.0)
    assert acquire_lease(store, "worker", "a", 10, now=1008.0)  # renewed until 1018
    assert not acquire_lease(store, "worker", "b", 10, now=1015.0)
    assert current_leader(store, "worker", now=1017.0) == "a"
    assert current_leader(store, "worker", now=1018.5) is None


def test_release_frees_the_lease_at_once_but_only_for_its_holder(store: Store) -> None:
    assert acquire_lease(store, "worker", "a", 60, now=1000.0)
    assert not release_lease(store, "worker", "b")
    assert current_leader(store, "worker", now=1001.0) == "a"
    assert release_lease(store, "worker", "a")
    assert current_leader(store, "worker", now=1001.0) is None
    assert acquire_lease(store, "worker", "b", 60, now=1001.0)


def test_leases_are_independent_by_name(store: Store) -> None:
    assert acquire_lease(store, "job:a", "p1", 10, now=1000.0)
    assert acquire_lease(store, "job:b", "p2", 10, now=1000.0)
    assert not acquire_lease(store, "job:a", "p2", 10, now=1000.0)


def test_default_time_is_the_store_clock(store: Store, clock: FakeClock) -> None:
    assert acquire_lease(store, "worker", "a", 30)
    assert epoch_now(store) == clock.now.replace(tzinfo=UTC).timestamp()
    clock.advance(29)
    assert not acquire_lease(store, "worker", "b", 30)
    clock.advance(2)
    assert acquire_lease(store, "worker", "b", 30)
    assert current_leader(store, "worker") == "b"


def _race(store: Store, lease: str, holders: int) -> list[str]:
    winners: list[str] = []
    barrier = threading.Barrier(holders)

    def contend(holder: str) -> None:
        barrier.wait()
        if acquire_lease(store, lease, holder, 30, now=5000.0):
            winners.append(holder)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(holders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return winners


def test_racing_holders_never_both_win(store: Store) -> None:
    """Eight threads race for a free lease, 20 rounds: exactly one winner each round."""
    for round_no in range(20):
        winners = _race(store, f"race:{round_no}", 8)
        assert len(winners) == 1, winners
        assert current_leader(store, f"race:{round_no}", now=5000.0) == winners[0]


@pytest.mark.parametrize("expires_at", [999.0, 1000.0, 1000.001, 1e9])
@pytest.mark.parametrize("now", [999.999, 1000.0, 1000.5])
def test_the_sql_forms_of_lease_validity_agree_with_the_rule(
    store: Store, expires_at: float, now: float
) -> None:
    live = LIVE_SQL.format(expires="$expires", now="$now")
    takeover = TAKEOVER_SQL.format(expires="$expires", now="$now")
    sql = f"SELECT CASE WHEN {live} THEN 1 ELSE 0 END, CASE WHEN {takeover} THEN 1 ELSE 0 END"
    with db_session:
        row = store.db.select(sql, globals={}, locals={"expires": expires_at, "now": now})[0]
    assert (bool(row[0]), bool(row[1])) == (is_live(expires_at, now), not is_live(expires_at, now))
