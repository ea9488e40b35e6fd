"""The request/activity log: batched writes, errors-first reading, stats and pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pony.orm import count, db_session

from store.context import Store
from store.queries.activity import activity_stats, recent_activity
from store.records import ActivityInput
from store.services.activity import (
    PRUNE_CHUNK,
    ROWS_PER_INSERT,
    ROWS_PER_JSON,
    prune_activity,
    record_activity,
)
from store.services.audit import record_event
from tests.support import FakeClock
from tests.worker.factories import log_request


def _entry(at: datetime, status: int = 200, **kw: object) -> ActivityInput:
    return ActivityInput(
        at=at, method="GET", path="/scim/v2/Users", status=status, latency_ms=1.0, **kw
    )  # type: ignore[arg-type]


def test_a_batch_is_written_and_read_back(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    batch = [
        _entry(
            t0,
            200,
            token_id=1,
            token_name="Okta SCIM",
            client="10.0.0.5",
            user_agent="Okta SCIM Client 1.0",
        ),
        _entry(
            t0 + timedelta(seconds=1),
            400,
            token_id=1,
            token_name="Okta SCIM",
            query='filter=nickName eq "x"',
            scim_type="invalidFilter",
            detail="unsupported filter attribute: nickName",
        ),
        ActivityInput(
            at=(t0 + timedelta(seconds=2)).replace(tzinfo=UTC),
            method="POST",
            path="/scim/v2/Users",
            status=201,
            latency_ms=7.25,
        ),
    ]
    assert record_activity(store, batch) == 3
    rows = recent_activity(store, errors_first=False)
    assert [r.status for r in rows] == [201, 400, 200]
    bad = rows[1]
    assert bad.query == 'filter=nickName eq "x"' and bad.scim_type == "invalidFilter"
    assert bad.detail == "unsupported filter attribute: nickName"
    assert bad.at == (t0 + timedelta(seconds=1)).replace(tzinfo=UTC)
    assert rows[2].user_agent == "Okta SCIM Client 1.0" and rows[2].client == "10.0.0.5"
    assert rows[0].token_id is None and rows[0].latency_ms == 7.25


def test_a_batch_larger_than_one_statement_keeps_every_entry(
    store: Store, clock: FakeClock
) -> None:
    size = 2 * ROWS_PER_INSERT + 7  # two full multi-row statements and a short one
    batch = [
        _entry(clock.now + timedelta(microseconds=n), 200 + n % 3, token_id=n, client=f"c{n}")
        for n in range(size)
    ]
    assert record_activity(store, batch) == size
    rows = recent_activity(store, errors_first=False, limit=size + 10)
    assert len(rows) == size
    by_token = {r.token_id: r for r in rows}
    for n in (0, ROWS_PER_INSERT - 1, ROWS_PER_INSERT, size - 1):
        row = by_token[n]
        assert row.client == f"c{n}" and row.status == 200 + n % 3
        assert row.at == (clock.now + timedelta(microseconds=n)).replace(tzinfo=UTC)


def test_every_column_lands_in_place_across_statements(store: Store, clock: FakeClock) -> None:
    # Past ROWS_PER_JSON, PostgreSQL's JSON batches split too; the texts carry what JSON and
    # SQL quote (quotes, backslashes, newlines, a JSON document of their own).
    size = ROWS_PER_JSON + 3
    tricky = 'a "quoted" \\ back\\slash\n[1,{"x":null}] \'single\''
    batch = [
        ActivityInput(
            at=clock.now + timedelta(microseconds=n),
            method="PATCH",
            path=f"/scim/v2/Users/{n}",
            status=200 + n % 5,
            latency_ms=n / 8,
            token_id=None if n % 2 else n,
            token_name=f"t{n}",
            client=f"10.0.{n % 256}.1",
            query=f"q{n} {tricky}",
            scim_type="" if n % 3 else "invalidValue",
            detail=tricky,
            user_agent=f"ua{n}",
            connection="" if n % 4 else f"conn{n}",
        )  # fmt: skip
        for n in range(size)
    ]
    assert record_activity(store, batch) == size
    rows = recent_activity(store, errors_first=False, limit=size + 10)
    assert len(rows) == size
    by_path = {r.path: r for r in rows}
    for n in (0, 1, 2, 3, ROWS_PER_JSON - 1, ROWS_PER_JSON, size - 1):
        row = by_path[f"/scim/v2/Users/{n}"]
        assert row.at == (clock.now + timedelta(microseconds=n)).replace(tzinfo=UTC)
        assert (row.method, row.status, row.latency_ms) == ("PATCH", 200 + n % 5, n / 8)
        assert row.token_id == (None if n % 2 else n) and row.token_name == f"t{n}"
        assert row.client == f"10.0.{n % 256}.1" and row.query == f"q{n} {tricky}"
        assert row.scim_type == ("" if n % 3 else "invalidValue") and row.detail == tricky
        assert row.user_agent == f"ua{n}" and row.hits == 1
        assert row.connection == ("" if n % 4 else f"conn{n}")


def test_hostile_or_oversized_text_is_cut_not_rejected(store: Store, clock: FakeClock) -> None:
    long_path = "/scim/v2/Users/" + "a" * 5000
    record_activity(
        store,
        [
            ActivityInput(
                at=clock.now,
                method="PROPFIND-LONG-METHOD",
                path=long_path,
                status=404,
                latency_ms=1.0,
                detail="x\x1b[31m" + "y" * 9000,
                user_agent="u" * 1000,
            )
        ],
    )
    (row,) = recent_activity(store)
    assert len(row.path) == 1024 and len(row.detail) == 2048 and len(row.user_agent) == 256
    assert row.detail.startswith("x\x1b[31my") and len(row.method) == 16


def test_text_is_kept_as_received_except_what_no_database_holds(
    store: Store, clock: FakeClock
) -> None:
    # The edges make it safe for a terminal; the log keeps the evidence (ESC, bidi) intact.
    # NUL (refused by PostgreSQL) and lone surrogates (not UTF-8) become U+FFFD.
    hostile = "\x1b]52;c;Y3VybA==\x07 \u202eadmin\x00\ud800 é👍"
    record_activity(
        store,
        [
            ActivityInput(
                at=clock.now, method="GET", path="/scim/v2/Users", status=400,
                latency_ms=1.0, detail=hostile, user_agent=hostile, query=hostile,
            )
        ],
    )  # fmt: skip
    (row,) = recent_activity(store)
    expected = "\x1b]52;c;Y3VybA==\x07 \u202eadmin\ufffd\ufffd é👍"
    assert row.detail == expected and row.user_agent == expected and row.query == expected


def test_errors_come_first_without_hiding_normal_traffic(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    entries = [_entry(t0 + timedelta(seconds=i), 200) for i in range(30)]
    entries += [_entry(t0 + timedelta(seconds=i), 404) for i in range(5)]
    record_activity(store, entries)
    rows = recent_activity(store, limit=10)
    assert [r.status for r in rows[:5]] == [404] * 5
    assert [r.status for r in rows[5:]] == [200] * 5
    assert rows[5].at == (t0 + timedelta(seconds=29)).replace(tzinfo=UTC)  # newest first
    # Many errors: at most half the page unless there is nothing else to show.
    record_activity(store, [_entry(t0 + timedelta(seconds=i), 500) for i in range(40)])
    rows = recent_activity(store, limit=10)
    assert sum(r.status >= 400 for r in rows) == 5


def test_recent_activity_of_one_token(store: Store, clock: FakeClock) -> None:
    log_request(store, clock.now, token_id=7)
    log_request(store, clock.now, token_id=8, status=429)
    assert [r.token_id for r in recent_activity(store, token_id=7)] == [7]
    assert [r.status for r in recent_activity(store, token_id=8)] == [429]


def test_stats_count_requests_and_errors_since(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    record_activity(
        store,
        [_entry(t0 - timedelta(hours=2), 500)]
        + [_entry(t0, 200)] * 3
        + [_entry(t0, 400), _entry(t0, 401)],
    )
    stats = activity_stats(store, since=t0 - timedelta(hours=1))
    assert (stats.total, stats.errors) == (5, 2)
    assert stats.by_status[0] == (200, 3)
    assert stats.last_at == t0.replace(tzinfo=UTC)


def test_prune_removes_only_old_entries_and_never_audit(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    record_activity(store, [_entry(t0 - timedelta(days=40), 200)] * 3 + [_entry(t0, 200)] * 2)
    with db_session:
        record_event(store, "test", "user.created", "user", "u1", "old event")
        store.db.AuditEvent.select().first().at = t0 - timedelta(days=400)
    assert prune_activity(store, t0 - timedelta(days=30)) == 3
    assert prune_activity(store, t0 - timedelta(days=30)) == 0
    assert len(recent_activity(store)) == 2
    with db_session:
        assert count(e for e in store.db.AuditEvent) == 1


def test_prune_works_in_chunks(store: Store, clock: FakeClock) -> None:
    old = clock.now - timedelta(days=60)
    record_activity(store, [_entry(old + timedelta(seconds=i)) for i in range(PRUNE_CHUNK + 7)])
    assert prune_activity(store, clock.now - timedelta(days=30)) == PRUNE_CHUNK + 7
    with db_session:
        assert count(a for a in store.db.Activity) == 0
