"""How waitress hands connections and requests to threads, so abuse of one part never stalls
another.

* ``SplitDispatcher``: two thread pools. SCIM requests (``/scim/v2``) run on ``[api]
  threads``; everything else (``/auth/session``, ``/livez``, ``/healthz``, ``/metrics``) on
  ``[api] session_threads`` reserved for it. However many costly filters or bulk loads the
  IdPs send, Control's session check never waits in the SCIM queue.
* ``DeadlineChannel`` and ``sweep_slow_requests``: a request must arrive whole within
  ``[api] request_timeout`` of its first byte. waitress's own ``channel_timeout`` only closes
  *idle* connections; a client that sends one byte every few seconds is never idle, and
  enough of them would fill ``connection_limit``.

Nothing here knows SCIM beyond its path prefix, or the store.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.task import ThreadedTaskDispatcher

from api.middleware import is_scim_path

SCIM_NICE = 10
"""SCIM threads run this much nicer than the rest of the process: on a machine whose cores
are busy with SCIM's database work (SQLite runs a statement in the SCIM thread itself), the
session check still gets the CPU when it needs it."""


class _NicedDispatcher(ThreadedTaskDispatcher):
    """A pool whose threads run at a lower CPU priority (Linux: per-thread nice)."""

    def __init__(self, nice: int) -> None:
        super().__init__()
        self._nice = nice

    def handler_thread(self, thread_no: int) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
        super().handler_thread(thread_no)


class SplitDispatcher:
    """waitress's task dispatcher interface over two pools, chosen by the request path."""

    def __init__(self, session_threads: int) -> None:
        self.scim = _NicedDispatcher(SCIM_NICE)
        self.control = ThreadedTaskDispatcher()
        self._session_threads = max(1, session_threads)

    def set_thread_count(self, count: int) -> None:
        """``count`` SCIM threads (waitress passes ``threads``); the reserved pool follows."""
        self.scim.set_thread_count(count)
        self.control.set_thread_count(self._session_threads if count > 0 else 0)

    def add_task(self, channel: Any) -> None:
        requests = getattr(channel, "requests", None) or []
        path = getattr(requests[0], "path", "") if requests else ""
        pool = self.scim if is_scim_path(path or "") else self.control
        pool.add_task(channel)

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        scim = self.scim.shutdown(cancel_pending, timeout)
        control = self.control.shutdown(cancel_pending, timeout)
        return bool(scim and control)

    @property
    def active_count(self) -> int:
        return int(self.scim.active_count + self.control.active_count)

    @property
    def queue(self) -> list[Any]:
        return [*self.scim.queue, *self.control.queue]


class DeadlineChannel(HTTPChannel):
    """An HTTP channel that remembers when the request it is receiving began."""

    request_began = 0.0
    _tracked: Any = None

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        current = self.request
        if current is not None and current is not self._tracked:
            self._tracked = current
            self.request_began = time.monotonic()
        return bool(result)


def sweep_slow_requests(server: Any, request_timeout: float) -> None:
    """Close every connection whose current request has been arriving for longer than
    ``request_timeout`` (waitress's own sweep handles idle ones)."""
    cutoff = time.monotonic() - request_timeout
    for channel in list(server.active_channels.values()):
        receiving = getattr(channel, "request", None) is not None and not channel.requests
        if receiving and getattr(channel, "request_began", cutoff) < cutoff:
            channel.will_close = True


def install(server: Any, request_timeout: float) -> None:
    """Make a waitress server (made by ``create_server``) use ``DeadlineChannel`` and sweep
    slow requests along with its idle connections."""
    idle_sweep = server.maintenance

    def maintenance(now: float) -> None:
        idle_sweep(now)
        sweep_slow_requests(server, request_timeout)

    server.channel_class = DeadlineChannel
    server.maintenance = maintenance
