"""Refusals fold by what was presented: every unknown token is one kind (so guessing with
ever-new tokens adds one row a minute), while a revoked token and a missing one stay apart."""

from __future__ import annotations

from datetime import UTC, datetime

from store.domain import request_log
from store.records import ActivityInput

AT = datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC)


def refusal(label: str, second: int) -> ActivityInput:
    return ActivityInput(
        at=AT.replace(second=second), method="GET", path="/scim/v2/Users", status=401,
        latency_ms=1.0, token_name=label, client="203.0.113.7",
    )  # fmt: skip


def test_unknown_tokens_fold_into_one_row_and_other_labels_stay_apart() -> None:
    items = [refusal(f"unknown tscim_{n:04d}…", n) for n in range(20)]
    items += [refusal("revoked Okta SCIM", 30), refusal("(no token)", 31)]
    singles, groups = request_log.split(items)
    assert singles == []
    hits = sorted((latest.token_name, count) for latest, count in groups.values())
    assert hits == [("(no token)", 1), ("revoked Okta SCIM", 1), ("unknown tscim_0019…", 20)]
