"""The request log stays bounded under a flood of refused requests: 401s and 429s are one row
per address, status, token and minute with a count, with short text, and the log is pruned
by size as well as by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pony.orm import count, db_session

from store.context import Store
from store.domain import request_log
from store.queries.activity import activity_stats, recent_activity
from store.records import ActivityInput
from store.services.activity import prune_activity, record_activity
from tests.support import FakeClock

HUGE = "x" * 5000


def _refused(at: datetime, client: str = "203.0.113.9", status: int = 401,
             token_id: int | None = None) -> ActivityInput:  # fmt: skip
    return ActivityInput(
        at=at, method="GET", path="/scim/v2/Users/" + HUGE, status=status, latency_ms=0.5,
        token_id=token_id, client=client, query=HUGE, detail=HUGE, user_agent=HUGE,
    )  # fmt: skip


def _rows(store: Store) -> int:
    with db_session:
        return int(count(a for a in store.db.Activity))


def test_refusals_fold_into_one_row_per_address_status_and_minute(
    store: Store, clock: FakeClock
) -> None:
    minute = clock.now.replace(second=0, microsecond=0)
    # Two flushes within one minute, then the next minute; another address; a 429.
    assert record_activity(store, [_refused(minute + timedelta(seconds=s)) for s in range(50)])
    record_activity(store, [_refused(minute + timedelta(seconds=59)) for _ in range(25)])
    record_activity(store, [_refused(minute + timedelta(seconds=61)) for _ in range(5)])
    record_activity(store, [_refused(minute, client="198.51.100.7") for _ in range(3)])
    record_activity(store, [_refused(minute, status=429, token_id=4) for _ in range(7)])
    record_activity(store, [_refused(minute, status=200)])  # kept as it is
    rows = recent_activity(store, limit=50, errors_first=False)
    folded = sorted((r.client, r.status, r.at, r.hits) for r in rows if r.status != 200)

    def at(seconds: int) -> datetime:  # a folded row's time is its newest request's
        return (minute + timedelta(seconds=seconds)).replace(tzinfo=UTC)

    assert folded == [
        ("198.51.100.7", 401, at(0), 3),
        ("203.0.113.9", 401, at(59), 75),
        ("203.0.113.9", 401, at(61), 5),
        ("203.0.113.9", 429, at(0), 7),
    ]
    for row in rows:
        if row.status == 200:
            assert row.hits == 1 and len(row.query) == 4096  # normal entries keep their text
            continue
        assert row.query == "" and len(row.path) <= request_log.PATH_CAP
        assert len(row.user_agent) <= request_log.USER_AGENT_CAP
        assert len(row.detail) <= request_log.DETAIL_CAP
    assert activity_stats(store, minute - timedelta(hours=1)).total == 75 + 5 + 3 + 7 + 1


def test_a_flood_of_refusals_adds_one_row_per_minute(store: Store, clock: FakeClock) -> None:
    start = clock.now.replace(second=0, microsecond=0)
    for second in range(0, 120, 1):  # one flush a second for two minutes, 20 requests each
        at = start + timedelta(seconds=second)
        record_activity(store, [_refused(at) for _ in range(20)])
    assert _rows(store) == 2
    assert sum(r.hits for r in recent_activity(store)) == 2_400


def test_pruning_keeps_at_most_max_rows_newest_first(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    entries = [
        ActivityInput(
            at=t0 + timedelta(seconds=i),
            method="GET",
            path=f"/scim/v2/Users/{i}",
            status=200,
            latency_ms=1.0,
        )  # fmt: skip
        for i in range(120)
    ]
    record_activity(store, entries)
    assert prune_activity(store, t0 - timedelta(days=30), max_rows=50) == 70
    kept = recent_activity(store, limit=200, errors_first=False)
    assert len(kept) == 50
    assert {r.path for r in kept} == {f"/scim/v2/Users/{i}" for i in range(70, 120)}
    assert prune_activity(store, t0 - timedelta(days=30), max_rows=50) == 0
    assert prune_activity(store, t0 - timedelta(days=30), max_rows=0) == 0  # age only
