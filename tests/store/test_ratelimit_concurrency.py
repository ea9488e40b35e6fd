"""No spurious 429s: concurrent requests of one token far below its limit are all admitted,
however the threads interleave between reading a clock and reaching the bucket."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from store.context import Store, utc_now
from store.services.tokens import MAX_RATE_LIMIT, authenticate, issue_token

REQUESTS = 1_200
THREADS = 8


def test_concurrent_requests_far_below_the_limit_are_never_refused(store: Store) -> None:
    live = replace(store, clock=utc_now)
    secret = issue_token(live, "Okta", "operator:test", rate_limit=MAX_RATE_LIMIT).secret
    header = f"Bearer {secret}"

    def burst(_: int) -> list[str]:
        return [authenticate(live, header, "10.0.0.1").reason for _ in range(REQUESTS // THREADS)]

    with ThreadPoolExecutor(THREADS) as pool:
        reasons = [r for chunk in pool.map(burst, range(THREADS)) for r in chunk]
    assert len(reasons) == REQUESTS
    assert reasons.count("rate_limited") == 0, reasons.count("rate_limited")
