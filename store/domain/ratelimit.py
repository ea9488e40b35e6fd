"""Rate-limit arithmetic (GCRA, the 'generic cell rate algorithm').

One number per bucket, the theoretical arrival time (TAT), makes the limit exact across any
number of processes when updated atomically in the database. ``requests_per_minute`` is the
sustained rate; ``burst`` extra requests may arrive at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    new_tat: float
    retry_after: float  # seconds until one more request would be allowed (0 when allowed)


def interval(requests_per_minute: int) -> float:
    return 60.0 / max(1, requests_per_minute)


def decide(tat: float | None, now: float, requests_per_minute: int, burst: int) -> Decision:
    """Admit or refuse one request given the bucket's TAT (None for a new bucket)."""
    step = interval(requests_per_minute)
    tolerance = step * max(0, burst)
    current = now if tat is None else max(tat, now)
    if current - now > tolerance:
        return Decision(False, current, (current - tolerance) - now)
    return Decision(True, current + step, 0.0)


def sql_rule(tat: str, now: str, step: str, burst: str, greatest: str) -> tuple[str, str]:
    """``decide`` rendered in SQL over the given expressions, for a store that must admit and
    advance in one statement: (the condition under which the request is admitted, the TAT
    after admitting it). ``step`` is ``interval``'s value, ``greatest`` the dialect's
    two-argument maximum; an absent bucket is the caller's to treat as admitted at
    ``now + step``, as ``decide`` does."""
    current = f"{greatest}({tat}, {now})"
    return f"{current} - {now} <= {step} * {burst}", f"{current} + {step}"
