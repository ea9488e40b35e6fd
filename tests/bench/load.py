"""A small, bounded HTTP load client for the benchmark and the multi-process tests.

Each client thread holds one keep-alive ``http.client`` connection, as an IdP's sync engine
does. ``drive`` runs a fixed list of requests over a fixed number of threads and stops at a
global deadline whatever happens, so no load loop can run away. Only loopback addresses are
ever used. Latencies are wall-clock per request as the client sees them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tests import http_client
from tests.http_client import Reply  # noqa: F401  (re-exported for the scale-out tests)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LOOPBACK = "127.0.0.1"


class Client(http_client.Client):
    """The benchmark's client: one keep-alive connection to a server on 127.0.0.1."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30.0) -> None:
        super().__init__(f"http://{LOOPBACK}:{port}", token, "trident-scim-bench", timeout=timeout)


Step = Callable[[Client, int], int]
"""One request: given this thread's client and the request's index, send it and return the
HTTP status."""


@dataclass
class Run:
    """The outcome of one ``drive``: per-request latency (seconds) by index, statuses."""

    wall: float = 0.0
    latencies: dict[int, float] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    server_cpu: float = 0.0  # CPU seconds the server process used during the run
    client_cpu: float = 0.0  # CPU seconds this (client) process used during the run

    @property
    def done(self) -> int:
        return len(self.statuses)

    @property
    def rate(self) -> float:
        return self.done / self.wall if self.wall > 0 else 0.0

    def status_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for status in self.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    def ordered(self) -> list[float]:
        """Latencies in request-index order (index = the order requests were handed out)."""
        return [self.latencies[i] for i in sorted(self.latencies)]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(pct / 100.0 * len(ordered) + 0.4999))))
    return ordered[rank - 1]


def drive(make_client: Callable[[], Client], step: Step, count: int, threads: int,
          timeout: float) -> Run:  # fmt: skip
    """Send ``count`` requests (``step(client, i)`` for i in 0..count-1) from ``threads``
    threads, each with its own connection, handing out indexes in order. Stops handing out
    work at ``timeout`` seconds (``timed_out`` is then set)."""
    run = Run()
    lock = threading.Lock()
    next_index = [0]
    deadline = time.monotonic() + timeout

    def take() -> int | None:
        with lock:
            if next_index[0] >= count:
                return None
            if time.monotonic() > deadline:
                run.timed_out = True
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def worker() -> None:
        client = make_client()
        try:
            while (index := take()) is not None:
                started = time.perf_counter()
                try:
                    status = step(client, index)
                except Exception as exc:  # noqa: BLE001 (reported, never hidden)
                    client.close()
                    with lock:
                        run.errors.append(f"#{index}: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    run.latencies[index] = elapsed
                    run.statuses[index] = status
        finally:
            client.close()

    pool = [threading.Thread(target=worker, name=f"load-{n}", daemon=True) for n in range(threads)]
    cpu = time.process_time()
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(max(0.0, deadline - time.monotonic()) + 60.0)
    run.wall = time.perf_counter() - started
    run.client_cpu = time.process_time() - cpu
    return run
