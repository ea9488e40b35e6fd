"""The worker's view of a database outage: when to try again, and when to say so.

While the database is unreachable every job and heartbeat would fail on every tick; instead
the first failure opens an outage, and the next attempt waits an exponentially growing delay
(``base``, 2x, 4x ... up to ``cap`` seconds). The log gets one line when the outage starts
and one when the database answers again, never one per failed tick. Pure arithmetic on the
times the caller passes in (thread-safe: jobs run in a pool).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

BASE_SECONDS = 1.0
CAP_SECONDS = 60.0


def backoff_delay(failures: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 -> base)."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, 32))


@dataclass
class Outage:
    base: float = BASE_SECONDS
    cap: float = CAP_SECONDS
    failures: int = 0
    retry_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def down(self) -> bool:
        return self.failures > 0

    def may_try(self, now: float) -> bool:
        """Whether an attempt is due (always while the database is up)."""
        with self._lock:
            return self.failures == 0 or now >= self.retry_at

    def failed(self, now: float) -> bool:
        """Record a failed attempt; True when this starts the outage (log it)."""
        with self._lock:
            self.failures += 1
            self.retry_at = now + backoff_delay(self.failures, self.base, self.cap)
            return self.failures == 1

    def succeeded(self) -> bool:
        """Record a successful attempt; True when this ends an outage (log it)."""
        with self._lock:
            ended = self.failures > 0
            self.failures = 0
            self.retry_at = 0.0
            return ended

    def wait_seconds(self, now: float) -> float:
        with self._lock:
            return max(0.0, self.retry_at - now)
