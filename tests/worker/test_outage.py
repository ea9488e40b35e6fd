"""The worker's outage arithmetic: exponential, capped, one state change per outage."""

from __future__ import annotations

import pytest

from worker.outage import Outage, backoff_delay


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (50, 60.0), (10_000, 60.0)],
)
def test_backoff_delay(failures: int, delay: float) -> None:
    assert backoff_delay(failures) == delay


def test_an_outage_starts_once_waits_longer_each_time_and_ends_once() -> None:
    outage = Outage()
    assert outage.may_try(0.0) and not outage.down
    assert outage.failed(100.0) is True  # the one line that says the database went away
    assert not outage.may_try(100.5) and outage.may_try(101.0)
    assert outage.failed(101.0) is False
    assert not outage.may_try(102.9) and outage.may_try(103.0)
    for _ in range(20):
        assert outage.failed(200.0) is False
    assert outage.wait_seconds(200.0) == 60.0  # capped
    assert outage.succeeded() is True  # the one line that says it is back
    assert outage.succeeded() is False and outage.may_try(200.0)
