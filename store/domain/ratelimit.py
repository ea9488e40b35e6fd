"""Rate-limit arithmetic (GCRA, the 'generic cell rate algorithm'), and budget leases.

One number per bucket, the theoretical arrival time (TAT), makes the limit exact across any
number of processes when updated atomically in the database. ``requests_per_minute`` is the
sustained rate; ``burst`` extra requests may arrive at once.

The TAT is the end of a timeline of slots, one ``interval`` long per admitted request. GCRA
admits a request at ``now`` into the slot starting at ``max(TAT, now)`` when that start is at
most ``burst`` intervals ahead of ``now``. Every admitted request then holds its own slot,
starting no earlier than the request and no later than ``burst`` intervals after it, so
within any window of W seconds at most ``W / interval + burst + 1`` requests are admitted.

A **lease** is a run of consecutive slots granted at once (``grant``): the process that holds
it admits its own requests into those slots (``Lease.take``) without asking the database. A
slot is only ever used by a request that arrives no later than the slot starts, exactly as
GCRA would have placed it, so the bound above holds for every process together, whatever
the number of processes and however the slots are shared out. What a lease cannot do is
bank time: the slots the process did not use by the time they start are gone, as idle time
is for GCRA. A lease therefore ends when its last slot starts, and a grant never reaches
further than ``horizon`` seconds ahead (``LEASE_SECONDS``: a lease lives at most that long).
The part of a lease still ahead when its process stops is given back (``Lease.unused_from``)
when no later grant was stacked on it.

A bucket keeps the slot length its TAT was counted in. When a token's limit changes, what the
bucket holds is requests, not seconds: ``rescaled`` turns the TAT's lead over ``now`` (the
requests admitted and not yet paid back) into slots of the new length. A raised limit then
takes effect at once (a lead counted in one-minute slots would otherwise refuse for minutes
at a limit of thousands a second), and a lowered one hands out no second burst (a lead
counted in short slots would otherwise look nearly paid back in long ones): from the change
on, a window of W seconds still admits at most ``W / interval + burst + 1`` requests, however
many the old limit admitted before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LEASE_SECONDS = 1.0
"""The longest a lease lives: no slot of a grant starts later than this after it."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    new_tat: float
    retry_after: float  # seconds until one more request would be allowed (0 when allowed)


@dataclass(frozen=True)
class Grant:
    """``units`` consecutive slots from ``start`` (0 units: refused); ``new_tat`` is the
    bucket's TAT after the grant, the end of the last slot."""

    units: int
    start: float
    new_tat: float
    retry_after: float


def interval(requests_per_minute: int) -> float:
    return 60.0 / max(1, requests_per_minute)


def lease_size(burst: int) -> int:
    """The most requests one lease may hold: a quarter of the burst, at least one, so that
    a few processes holding leases at once still leave budget to the others."""
    return max(1, max(0, burst) // 4)


def grant(tat: float | None, now: float, requests_per_minute: int, burst: int, want: int,
          horizon: float = LEASE_SECONDS) -> Grant:  # fmt: skip
    """Up to ``want`` slots for requests arriving from ``now`` on, given the bucket's TAT
    (None for a new bucket): as many as GCRA admits at once at ``now`` and whose slots all
    start within ``horizon`` seconds, and always at least the one for the request at hand
    when GCRA admits it. ``want=1`` is plain GCRA for one request."""
    step = interval(requests_per_minute)
    tolerance = step * max(0, burst)
    current = now if tat is None else max(tat, now)
    if current - now > tolerance:
        return Grant(0, current, current, (current - tolerance) - now)
    fits = math.floor((tolerance - (current - now)) / step) + 1
    within = math.floor((now + horizon - current) / step)
    units = max(1, min(want, fits, within))
    return Grant(units, current, current + units * step, 0.0)


def rescaled(tat: float | None, counted_in: float | None, now: float, step: float) -> float | None:
    """The bucket's TAT counted in slots of ``step`` seconds, when it was counted in slots of
    ``counted_in`` (None: unknown, taken as ``step``): the lead over ``now`` keeps its number
    of slots. A TAT at or before ``now`` (nothing owed) is unchanged."""
    if tat is None or counted_in is None or counted_in == step or tat <= now:
        return tat
    return now + (tat - now) * step / counted_in


def sql_rescaled(tat: str, counted_in: str, now: str, step: str) -> str:
    """``rescaled`` rendered in SQL over the given expressions (``counted_in`` may be NULL)."""
    return (
        f"CASE WHEN {counted_in} IS NULL OR {counted_in} = {step} OR {tat} <= {now} "
        f"THEN {tat} ELSE {now} + ({tat} - {now}) * {step} / {counted_in} END"
    )


def decide(tat: float | None, now: float, requests_per_minute: int, burst: int) -> Decision:
    """Admit or refuse one request given the bucket's TAT (None for a new bucket)."""
    one = grant(tat, now, requests_per_minute, burst, 1)
    return Decision(one.units > 0, one.new_tat, one.retry_after)


def sql_grant(tat: str, now: str, step: str, burst: str, want: str, horizon: str,
              greatest: str, least: str) -> tuple[str, str, str]:  # fmt: skip
    """``grant`` rendered in SQL over the given expressions, for a store that grants and
    advances in one statement: (the condition under which anything is granted, the number
    of slots granted, the TAT after the grant). ``step`` is ``interval``'s value,
    ``greatest``/``least`` the dialect's two-argument maximum and minimum, ``want`` at
    least 1; a new bucket is a TAT at or before ``now`` (0.0 will do)."""
    current = f"{greatest}({tat}, {now})"
    lead = f"({current} - {now})"
    tolerance = f"({step} * {burst})"
    fits = f"(FLOOR(({tolerance} - {lead}) / {step}) + 1)"
    within = f"FLOOR(({now} + {horizon} - {current}) / {step})"
    units = f"{greatest}(1, {least}({want}, {least}({fits}, {within})))"
    return f"{lead} <= {tolerance}", units, f"{current} + {units} * {step}"


@dataclass
class Lease:
    """Slots ``next_slot`` .. ``end`` of one bucket, held by this process. ``take`` admits
    a request at ``now`` into the first free slot that starts no earlier than ``now``; the
    lease is spent when none is left (its last slot has started). All times are in the
    clock of the grant (the database's when it judged the grant)."""

    next_slot: float
    end: float
    step: float

    @classmethod
    def after(cls, granted: Grant, step: float) -> Lease:
        """The rest of a grant whose first slot went to the request that asked for it."""
        return cls(granted.start + step, granted.new_tat, step)

    def take(self, now: float) -> bool:
        slot = max(self.next_slot, now)
        if slot + self.step > self.end:
            return False
        self.next_slot = slot + self.step
        return True

    def spent(self, now: float) -> bool:
        return max(self.next_slot, now) + self.step > self.end

    def unused_from(self, now: float) -> float:
        """Where the bucket's TAT may go back to when this lease is given up at ``now``,
        provided the TAT is still this lease's ``end`` (nothing granted after it)."""
        return min(self.end, max(self.next_slot, now))
