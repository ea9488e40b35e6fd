"""The rate-limit rule has one definition (``ratelimit.grant``, of which ``decide`` is the grant
of one request) and one SQL rendering (``ratelimit.sql_grant``, with which PostgreSQL grants
a lease in one statement): both give the same answer, to the last bit, on the databases
themselves."""

from __future__ import annotations

import random

from pony.orm import db_session

from store.context import Store
from store.domain import ratelimit
from store.queries.filtering import fetch_rows

BASE = 1_795_958_000.0  # epoch seconds late in 2026, where the service keeps its TATs


def _cases() -> list[tuple[float | None, float, int, int, int]]:
    rng = random.Random(20261129)
    cases: list[tuple[float | None, float, int, int, int]] = []
    for _ in range(400):
        rpm = rng.choice([1, 7, 60, 600, 1000, 60_000, 1_000_000, rng.randint(1, 10**6)])
        burst = rng.choice([0, 1, 10, rng.randint(0, 1000), 1_000_000])
        now = BASE + rng.uniform(0, 86_400)
        step = ratelimit.interval(rpm)
        want = rng.choice([1, ratelimit.lease_size(burst), rng.randint(1, 5000)])
        # Around the edges of the tolerance and of the one-second horizon, where the two
        # could disagree by a rounding.
        ahead = rng.choice([0.0, step * burst, step * burst + step, step * (burst - want),
                            1.0 - step * want, 1.0, rng.uniform(-60, 120)])  # fmt: skip
        cases.append((None if rng.random() < 0.1 else now + ahead, now, rpm, burst, want))
    return cases


def test_sql_rendering_grants_like_the_rule(store: Store) -> None:
    postgres = store.provider == "postgres"
    greatest, least = ("GREATEST", "LEAST") if postgres else ("MAX", "MIN")
    cast = "::float8" if postgres else ""
    admitted, units, new_tat = ratelimit.sql_grant(
        tat=f"$tat{cast}", now=f"$now{cast}", step=f"$step{cast}", burst="$burst",
        want="$want", horizon=f"$horizon{cast}", greatest=greatest, least=least,
    )  # fmt: skip
    sql = f"SELECT CASE WHEN {admitted} THEN 1 ELSE 0 END, {units}, {new_tat}"
    disagreements = []
    with db_session:
        for tat, now, rpm, burst, want in _cases():
            step = ratelimit.interval(rpm)
            params = {"tat": 0.0 if tat is None else tat, "now": now, "step": step,
                      "burst": burst, "want": want, "horizon": ratelimit.LEASE_SECONDS}  # fmt: skip
            ((ok, count, after),) = fetch_rows(store, sql, params)
            rule = ratelimit.grant(tat, now, rpm, burst, want)
            if bool(ok) != (rule.units > 0) or (
                rule.units and (int(count) != rule.units or float(after) != rule.new_tat)
            ):
                disagreements.append((tat, now, rpm, burst, want, ok, count, after, rule))
    assert not disagreements, disagreements[:3]


def test_sql_rendering_counts_a_changed_limit_like_the_rule(store: Store) -> None:
    """``ratelimit.sql_rescaled`` and ``ratelimit.rescaled`` agree to the last bit: the
    TAT a limit change leaves is the same whichever renders it."""
    postgres = store.provider == "postgres"
    cast = "::float8" if postgres else ""
    expression = ratelimit.sql_rescaled(
        tat=f"$tat{cast}", counted_in=f"$counted_in{cast}", now=f"$now{cast}", step=f"$step{cast}"
    )
    rng = random.Random(20261201)
    disagreements = []
    with db_session:
        for _ in range(300):
            now = BASE + rng.uniform(0, 86_400)
            step = ratelimit.interval(rng.choice([1, 60, 3840, rng.randint(1, 10**6)]))
            counted_in = rng.choice([None, step, ratelimit.interval(rng.randint(1, 10**6))])
            tat = now + rng.choice([-5.0, 0.0, rng.uniform(0, 600), rng.uniform(0, 0.01)])
            params = {"tat": tat, "counted_in": counted_in, "now": now, "step": step}
            ((got,),) = fetch_rows(store, f"SELECT {expression}", params)
            rule = ratelimit.rescaled(tat, counted_in, now, step)
            if float(got) != rule:
                disagreements.append((tat, counted_in, now, step, got, rule))
    assert not disagreements, disagreements[:3]
