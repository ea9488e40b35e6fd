"""The request log's one query with filters (token, status class, time, text) and the
folding of identical refusals, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.context import Store
from store.domain.activity_filters import parse_status
from store.errors import InvalidInput
from store.queries.activity import (
    ERRORS,
    ActivityFilter,
    collapse_refusals,
    recent_activity,
)
from store.records import ActivityInput, ActivityRecord
from store.services.activity import record_activity
from tests.support import FakeClock


def _entry(at: datetime, status: int, **kw: object) -> ActivityInput:
    fields: dict[str, object] = {"method": "GET", "path": "/scim/v2/Users", "latency_ms": 1.0}
    fields.update(kw)
    return ActivityInput(at=at, status=status, **fields)  # type: ignore[arg-type]


@pytest.fixture
def logged(store: Store, clock: FakeClock) -> datetime:
    t0 = clock.now
    record_activity(
        store,
        [
            _entry(t0, 200, token_name="Okta SCIM", client="10.0.0.5", user_agent="Okta/1"),
            _entry(t0 + timedelta(seconds=1), 400, token_name="Okta SCIM",
                   query='nickName eq "x"', scim_type="invalidFilter",
                   detail="filter attribute 'nickName' is not supported"),
            _entry(t0 + timedelta(seconds=2), 401, token_name="unknown tscim_AbCd…",
                   client="203.0.113.7"),
            _entry(t0 + timedelta(seconds=3), 429, token_name="Entra ID", path="/scim/v2/Groups"),
            _entry(t0 + timedelta(seconds=4), 201, token_name="Entra ID", method="POST"),
        ],
    )  # fmt: skip
    return t0


def _statuses(store: Store, **kw: object) -> list[int]:
    wanted = ActivityFilter(**kw)  # type: ignore[arg-type]
    return [r.status for r in recent_activity(store, errors_first=False, wanted=wanted)]


def test_filters_by_status_class_code_and_errors(store: Store, logged: datetime) -> None:
    assert _statuses(store, status=parse_status("4xx")) == [429, 401, 400]
    assert _statuses(store, status=parse_status("2XX")) == [201, 200]
    assert _statuses(store, status=parse_status("429")) == [429]
    assert _statuses(store, status=ERRORS) == [429, 401, 400]
    assert _statuses(store) == [201, 429, 401, 400, 200]


def test_an_overlong_filter_text_is_a_readable_error(store: Store, logged: datetime) -> None:
    with pytest.raises(InvalidInput, match="at most 256"):
        recent_activity(store, wanted=ActivityFilter(text="x" * 257))


def test_filters_by_token_name_or_unknown_prefix(store: Store, logged: datetime) -> None:
    assert _statuses(store, token="entra") == [201, 429]
    assert _statuses(store, token="tscim_AbC") == [401]
    assert _statuses(store, token="unknown") == [401]


def test_filters_by_text_in_path_filter_error_client_and_agent(
    store: Store, logged: datetime
) -> None:
    assert _statuses(store, text="NICKNAME") == [400]
    assert _statuses(store, text="203.0.113") == [401]
    assert _statuses(store, text="okta/") == [200]
    assert _statuses(store, text="/groups") == [429]
    # LIKE wildcards are plain characters in the filter text (bound and escaped).
    assert _statuses(store, text="%") == []
    assert _statuses(store, text="_") == []


def test_filters_by_time_and_combines_with_errors_first(store: Store, logged: datetime) -> None:
    since = logged + timedelta(seconds=2)
    assert _statuses(store, since=since) == [201, 429, 401]
    rows = recent_activity(store, wanted=ActivityFilter(since=since, token="entra"))
    assert [r.status for r in rows] == [429, 201]


def _record(seconds: int, status: int, path: str = "/scim/v2/Users", i: int = 0) -> ActivityRecord:
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    return ActivityRecord(at=at, method="GET", path=path, status=status, latency_ms=1.0, id=i)


def test_identical_refusals_fold_into_one_run_at_the_newest() -> None:
    records = [_record(20 - n, 429, i=n) for n in range(14)]
    records.insert(3, _record(5, 400, i=99))
    records.append(_record(0, 200, i=100))
    records.append(_record(0, 200, i=101))
    runs = collapse_refusals(records)
    assert [(r.record.status, r.count) for r in runs] == [(429, 14), (400, 1), (200, 1), (200, 1)]
    assert runs[0].record.id == 0 and runs[0].seconds == 13.0


def test_refusals_that_differ_are_not_folded() -> None:
    runs = collapse_refusals([_record(2, 429), _record(1, 429, "/scim/v2/Groups"), _record(0, 401)])
    assert [r.count for r in runs] == [1, 1, 1]
