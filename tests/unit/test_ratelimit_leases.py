"""Budget leases (``ratelimit.grant`` and ``ratelimit.Lease``): a lease never lets a token
past its limit plus burst in any window, whatever the number of processes sharing it, and
plain GCRA is the lease of one request."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from store.domain import ratelimit

BASE = 1_795_958_000.0
SLACK = 1e-6  # seconds: epoch times near BASE are exact to about 2.4e-7 s


def test_a_grant_of_one_is_plain_gcra() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        rpm = rng.choice([1, 60, 600, 60_000, rng.randint(1, 10**6)])
        burst = rng.choice([0, 1, 10, rng.randint(0, 1000)])
        now = BASE + rng.uniform(0, 1000)
        step = ratelimit.interval(rpm)
        tat = rng.choice([None, now - 5, now, now + step * burst, now + step * (burst + 1)])
        current = now if tat is None else max(tat, now)
        granted = ratelimit.grant(tat, now, rpm, burst, 1)
        if current - now > step * burst:
            assert granted.units == 0 and granted.retry_after >= 0
        else:
            assert granted.units == 1 and granted.new_tat == current + step
        decided = ratelimit.decide(tat, now, rpm, burst)
        assert decided.allowed == (granted.units == 1)


def test_a_grant_is_bounded_by_the_lease_size_the_burst_and_one_second() -> None:
    # 3840/min: 1/64 s a request (exact in binary). Burst 256: a lease holds at most 64.
    rpm, step = 3840, 1 / 64
    fresh = ratelimit.grant(None, BASE, rpm, 256, ratelimit.lease_size(256))
    assert (fresh.units, fresh.start, fresh.new_tat) == (64, BASE, BASE + 1.0)
    # More than a second's worth is never leased: 1000 a burst still gives 64 slots.
    assert ratelimit.grant(None, BASE, rpm, 4000, 1000).units == 64
    # A bucket already 0.75 s ahead: only the slots that end within the second.
    assert ratelimit.grant(BASE + 0.75, BASE, rpm, 256, 64).units == 16
    # Past a second ahead, only the request at hand (plain GCRA, while the burst lasts).
    assert ratelimit.grant(BASE + 2, BASE, rpm, 256, 64).units == 1
    # Near the end of a burst of 32 (0.5 s): only what GCRA admits at once, one at the edge.
    assert ratelimit.grant(BASE + 0.5 - 3 * step, BASE, rpm, 32, 8).units == 4
    assert ratelimit.grant(BASE + 0.5, BASE, rpm, 32, 8).units == 1
    refused = ratelimit.grant(BASE + 0.5 + step, BASE, rpm, 32, 8)
    assert refused.units == 0 and refused.retry_after == step
    # A slow limit leases nothing beyond the request itself (no slot within a second).
    assert ratelimit.grant(None, BASE, 1, 5, 1).units == 1
    assert ratelimit.grant(None, BASE, 30, 40, 10).units == 1
    assert ratelimit.lease_size(0) == 1 and ratelimit.lease_size(10) == 2


def test_a_lease_uses_a_slot_only_for_a_request_no_later_than_it() -> None:
    rpm, step = 3840, 1 / 64
    lease = ratelimit.Lease.after(ratelimit.grant(None, BASE, rpm, 256, 5), step)
    assert lease.take(BASE) and lease.take(BASE)  # slots 1 and 2 start after BASE
    assert lease.take(BASE + 3.5 * step)  # slot 3 has started: the request takes 3.5
    assert not lease.take(BASE + 4 * step)  # 4.5 + 1 is past the end (5)
    assert lease.spent(BASE + 4 * step)
    # Given up early: the bucket may go back to the first slot not used.
    fresh = ratelimit.Lease.after(ratelimit.grant(None, BASE, rpm, 256, 5), step)
    assert fresh.unused_from(BASE) == BASE + step
    assert fresh.unused_from(BASE + 1) == fresh.end  # nothing left ahead


class _Bucket:
    """The database's one number, granted in order of arrival."""

    def __init__(self) -> None:
        self.tat: float | None = None


def _simulate(
    processes: int, rpm: int, burst: int, arrivals: list[tuple[float, int]]
) -> list[float]:
    """Requests (time, process) in time order through per-process leases over one bucket;
    the times of the admitted ones."""
    bucket = _Bucket()
    step = ratelimit.interval(rpm)
    held: list[ratelimit.Lease | None] = [None] * processes
    admitted = []
    for now, who in arrivals:
        lease = held[who]
        if lease is not None and lease.take(now):
            admitted.append(now)
            continue
        granted = ratelimit.grant(bucket.tat, now, rpm, burst, ratelimit.lease_size(burst))
        if granted.units == 0:
            continue
        bucket.tat = granted.new_tat
        held[who] = ratelimit.Lease.after(granted, step)
        admitted.append(now)
    return admitted


def _worst_window_excess(times: list[float], rpm: int, burst: int) -> float:
    """max over windows [t_i, t_j] of admitted - (window / interval + burst + 1)."""
    step = ratelimit.interval(rpm)
    worst = -math.inf
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - ((times[j] - first) / step + burst + 1))
    return worst


@settings(max_examples=40, deadline=None)
@given(
    processes=st.integers(1, 6),
    rpm=st.sampled_from([60, 600, 6000, 60_000]),
    burst=st.integers(0, 60),
    seed=st.integers(0, 10**6),
)
def test_no_window_ever_holds_more_than_the_limit_plus_burst(
    processes: int, rpm: int, burst: int, seed: int
) -> None:
    rng = random.Random(seed)
    step = ratelimit.interval(rpm)
    arrivals: list[tuple[float, int]] = []
    now = 1000.0  # small times: rounding far below a microsecond
    while len(arrivals) < 200:  # pauses, then bursts or steady runs above or below the limit
        now += rng.choice([0.0, step / 2, step * 3, rng.uniform(0, 2.5)])
        spacing = rng.choice([0.0, 0.0, step / 5, step / 2, step, step * 2])
        for _ in range(rng.randint(1, 2 * burst + 6)):
            arrivals.append((now, rng.randrange(processes)))
            now += spacing
    admitted = _simulate(processes, rpm, burst, arrivals)
    assert admitted
    assert _worst_window_excess(admitted, rpm, burst) <= 1e-9


def test_leases_refuse_nothing_far_below_the_limit() -> None:
    """Two processes at 600 requests a second each, against 6000 a second: all admitted."""
    arrivals = sorted([(BASE + i / 600, 0) for i in range(3000)]
                      + [(BASE + 0.0007 + i / 600, 1) for i in range(3000)])  # fmt: skip
    assert len(_simulate(2, 360_000, 1000, arrivals)) == 6000
    assert len(_simulate(2, 360_000, 10, arrivals)) == 6000


@settings(max_examples=200, deadline=None)
@given(
    old_rpm=st.sampled_from([1, 60, 600, 3840, 60_000]),
    new_rpm=st.sampled_from([1, 60, 600, 3840, 60_000]),
    burst=st.integers(0, 40),
    gaps=st.lists(st.floats(0, 2.0), min_size=1, max_size=120),
    change_at=st.integers(0, 119),
)
def test_a_changed_limit_is_counted_in_requests_not_seconds(
    old_rpm: int, new_rpm: int, burst: int, gaps: list[float], change_at: int
) -> None:
    """A bucket whose limit changes keeps the requests it owes (``rescaled``): from the
    change on, no window of W seconds admits more than W / interval + burst + 1 under the new
    limit (no second burst after a lowering), and at the change the bucket owes at most
    burst + 1 of the new limit's intervals (a raise takes effect at once, with no wait
    counted in the old limit's slots)."""
    now, tat, counted_in = BASE, None, ratelimit.interval(old_rpm)
    after: list[float] = []
    admitted: list[float] = []
    old_step, new_step = ratelimit.interval(old_rpm), ratelimit.interval(new_rpm)
    change = math.inf
    for index, gap in enumerate(gaps):
        now += gap
        if index == change_at:
            change = now
        rpm = old_rpm if index < change_at else new_rpm
        step = ratelimit.interval(rpm)
        tat = ratelimit.rescaled(tat, counted_in, now, step)
        counted_in = step
        if index == change_at and tat is not None:
            assert tat - now <= (burst + 1) * new_step + SLACK
        granted = ratelimit.grant(tat, now, rpm, burst, 1)
        if granted.units:
            tat = granted.new_tat
            admitted.append(now)
            if index >= change_at:
                after.append(now)
    for i, start in enumerate(after):
        for j in range(i, len(after)):
            assert j - i + 1 <= (after[j] - start + SLACK) / new_step + burst + 1
    for i, start in enumerate(admitted):  # windows across the change: one burst in all
        for j in range(i, len(admitted)):
            end = admitted[j]
            allowance = max(0.0, min(end, change) - start + SLACK) / old_step
            allowance += max(0.0, end - max(start, change) + SLACK) / new_step
            assert j - i + 1 <= allowance + burst + 1
