"""One process of the false-refusal measurement: ``authenticate`` at a steady rate against a
real database, as one API process sees its share of an IdP's requests (never faster than
four times that rate in any gap, so that two processes stay far below the token's limit).

    python -m tests.multiprocess.lease_load URL SECRET PER_SECOND SECONDS BURST

Prints one JSON line: requests sent, refused, and how many the process's leases admitted
with no database write. Bounded: it stops after SECONDS whatever happens.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

from store.config import RateLimitSettings, settings_from_dict
from store.context import open_store
from store.services.rate_leases import leases_of
from store.services.tokens import authenticate, release_rate_leases


def main(url: str, secret: str, per_second: float, seconds: float, burst: int) -> int:
    settings = settings_from_dict({"database": {"url": url}}, source="lease-load")
    settings = replace(settings, rate_limit=RateLimitSettings(60, burst, 1000))
    store = open_store(settings)
    header = f"Bearer {secret}"
    sent = refused = 0
    gap = 1 / per_second
    began = due = time.monotonic()
    try:
        while (elapsed := time.monotonic() - began) < seconds:
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # A process that fell behind (descheduled on a busy host) catches up at four times
            # its rate at most, so two of them stay below the measurement's limit of 6000 a
            # second: a burst of all it missed would exceed the limit and burst for real, and
            # be refused rightly, not falsely.
            due = max(due + gap, time.monotonic() + gap / 4)
            result = authenticate(store, header, "127.0.0.1")
            sent += 1
            refused += result.reason == "rate_limited"
        leases = leases_of(store)
        report = {"sent": sent, "refused": refused, "seconds": elapsed,
                  "grants": leases.grants, "from_leases": leases.taken}  # fmt: skip
        release_rate_leases(store)
    finally:
        store.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    url, secret, rate, seconds, burst = sys.argv[1:6]
    sys.exit(main(url, secret, float(rate), float(seconds), int(burst)))
