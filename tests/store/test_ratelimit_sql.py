"""The rate-limit rule has one definition (``ratelimit.decide``) and one SQL rendering
(``ratelimit.sql_rule``, used where a store admits and advances in one statement): both give
the same answer, to the last bit, on the databases themselves."""

from __future__ import annotations

import random

from pony.orm import db_session

from store.context import Store
from store.domain import ratelimit
from store.queries.filtering import fetch_rows

BASE = 1_795_958_000.0  # epoch seconds late in 2026, where the service keeps its TATs


def _cases() -> list[tuple[float, float, int, int]]:
    rng = random.Random(20261129)
    cases = []
    for _ in range(300):
        rpm = rng.choice([1, 7, 60, 600, 1000, 60_000, 1_000_000, rng.randint(1, 10**6)])
        burst = rng.choice([0, 1, 10, rng.randint(0, 1000)])
        now = BASE + rng.uniform(0, 86_400)
        step = ratelimit.interval(rpm)
        # Around the boundary of the tolerance, where the two could disagree by a rounding.
        ahead = rng.choice([0.0, step * burst, step * burst + step, rng.uniform(-60, 120)])
        cases.append((now + ahead, now, rpm, burst))
    return cases


def test_sql_rendering_decides_like_the_rule(store: Store) -> None:
    greatest = "GREATEST" if store.provider == "postgres" else "MAX"
    cast = "::float8" if store.provider == "postgres" else ""
    admitted, new_tat = ratelimit.sql_rule(
        tat=f"$tat{cast}", now=f"$now{cast}", step=f"$step{cast}", burst="$burst", greatest=greatest
    )
    sql = f"SELECT CASE WHEN {admitted} THEN 1 ELSE 0 END, {new_tat}"
    disagreements = []
    with db_session:
        for tat, now, rpm, burst in _cases():
            step = ratelimit.interval(rpm)
            params = {"tat": tat, "now": now, "step": step, "burst": burst}
            ((ok, after),) = fetch_rows(store, sql, params)
            rule = ratelimit.decide(tat, now, rpm, burst)
            if bool(ok) != rule.allowed or (rule.allowed and float(after) != rule.new_tat):
                disagreements.append((tat, now, rpm, burst, ok, after, rule))
    assert not disagreements, disagreements[:3]
