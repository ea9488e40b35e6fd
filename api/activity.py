"""The request log buffer: requests are queued in memory and written in batches.

Writing one row per request inside the request would double the database work of every SCIM
call, so the middleware only appends to a bounded queue and a daemon thread flushes it every
``settings.api.activity_flush_seconds`` through ``record_activity`` (and once more on
``close()``). When the database is down the batch is kept for the next flush; when the queue
is full the oldest entries are dropped and counted. Only what ``ActivityInput`` holds is
recorded: never tokens, Authorization headers or bodies.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from store.context import Store
from store.errors import StoreError
from store.records import ActivityInput
from store.services.activity import record_activity

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 20_000


class ActivityRecorder:
    def __init__(
        self,
        store: Store,
        *,
        flush_seconds: float | None = None,
        capacity: int = DEFAULT_CAPACITY,
        sink: Callable[[Sequence[ActivityInput]], int] | None = None,
    ) -> None:
        self._sink = sink or (lambda items: record_activity(store, items))
        interval = (
            store.settings.api.activity_flush_seconds if flush_seconds is None else flush_seconds
        )
        self._interval = max(0.05, interval)
        self._queue: deque[ActivityInput] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self._failing = False

    def start(self) -> ActivityRecorder:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="activity-recorder", daemon=True)
            self._thread.start()
        return self

    def record(self, item: ActivityInput) -> None:
        with self._lock:
            if len(self._queue) >= self._capacity:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(item)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self) -> int:
        """Write everything queued so far; returns how many entries were written."""
        with self._flush_lock:
            with self._lock:
                batch = list(self._queue)
                self._queue.clear()
            if not batch:
                return 0
            try:
                written = self._sink(batch)
            except StoreError as exc:
                # One warning per outage, not one per flush (every second while it lasts).
                level = logging.DEBUG if self._failing else logging.WARNING
                log.log(level, "request log not written (%d kept): %s", len(batch), exc.message)
                self._failing = True
                self._requeue(batch)
                return 0
            if self._failing:
                self._failing = False
                log.info("request log written again (%d entries)", written)
            return written

    def _requeue(self, batch: list[ActivityInput]) -> None:
        with self._lock:
            room = self._capacity - len(self._queue)
            keep = batch[-room:] if room > 0 else []
            self.dropped += len(batch) - len(keep)
            self._queue.extendleft(reversed(keep))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the log must never take the API down; keep trying
                log.exception("request log flush failed")

    def close(self) -> None:
        """Stop the flusher and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()
