"""How waitress hands connections and requests to threads, so abuse of one part never stalls
another.

* ``SplitDispatcher``: two thread pools. SCIM requests (``/scim/v2``) run on ``[api]
  threads``; everything else (``/auth/session``, ``/livez``, ``/healthz``, ``/metrics``) on
  ``[api] session_threads`` reserved for it. However many costly filters or bulk loads the
  IdPs send, Control's session check never waits in the SCIM queue. SCIM threads run at
  full priority, and yield the CPU (a higher niceness) while the reserved pool has work.
* ``DeadlineChannel`` and ``sweep_slow_requests``: a request must arrive whole within
  ``[api] request_timeout`` of its first byte. waitress's own ``channel_timeout`` only closes
  *idle* connections; a client that sends one byte every few seconds is never idle, and
  enough of them would fill ``connection_limit``.

Nothing here knows SCIM beyond its path prefix, or the store.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.task import ThreadedTaskDispatcher

from api.middleware import is_scim_path

SCIM_NICE = 10
"""How much nicer SCIM threads run while Control's side has work: on a machine whose cores
are busy with SCIM's database work (SQLite runs a statement in the SCIM thread itself), the
session check still gets the CPU when it needs it."""
CALM_AFTER = 0.05
"""Seconds after the last request of the reserved pool (and once it is idle) before SCIM
threads run at the process's own priority again."""
MIN_THREAD_LIFE = 1.0
"""A SCIM thread is replaced at most this often (seconds since it started): a new thread
opens its own database connection, which on PostgreSQL costs a server process's start."""


class YieldingPool(ThreadedTaskDispatcher):
    """SCIM's pool. Its threads run at the process's own priority, so SCIM has the full CPU
    when nothing else of this process wants it. ``yield_cpu`` (a request for the reserved
    pool has arrived) makes every SCIM thread that is serving a request ``SCIM_NICE`` nicer
    at once, and a thread that takes a request while the reserved pool has work makes itself
    nicer before serving it. An idle thread is left alone: it takes no CPU from anyone. A
    niced thread stays so until the reserved pool has been idle for ``CALM_AFTER``.

    A process without privileges can make its threads nicer but never less nice again (Linux
    needs CAP_SYS_NICE or RLIMIT_NICE for that). A new thread starts at its creator's
    niceness, though: after the calm, a niced thread retires at its next task boundary (never
    in the middle of a request) and a spawner thread, made at the process's priority, starts
    a fresh one in its place (each thread at most once per ``MIN_THREAD_LIFE``). The pool
    never runs more than ``count`` threads."""

    def __init__(self, nice: int, quiet: Callable[[], bool], calm_after: float = CALM_AFTER):
        super().__init__()
        self._base = _own_niceness()
        self._nicer = min(19, self._base + nice)
        self._quiet = quiet
        self._calm_after = calm_after
        self._count = 0
        self._native: dict[int, int] = {}  # thread number -> native thread id, while running
        self._born: dict[int, float] = {}  # thread number -> when it started (monotonic)
        self._niced: set[int] = set()
        self._serving: set[int] = set()
        self._yield_until = 0.0
        self._spawn_cv = threading.Condition(self.lock)
        self._spawner: threading.Thread | None = None
        self.replaced = 0  # niced threads replaced by fresh ones so far

    def set_thread_count(self, count: int) -> None:
        """Threads are started by the spawner (at the process's priority), stopped here."""
        with self.lock:
            self._count = count
            running = len(self.threads) - self.stop_count
            if running > count:
                self.stop_count += running - count
                self.queue_cv.notify_all()
            if count > 0 and self._spawner is None:
                self._spawner = threading.Thread(target=self._spawn_loop, name="scim-spawner",
                                                 daemon=True)  # fmt: skip
                self._spawner.start()  # from this thread: at the process's priority
            self._spawn_cv.notify()

    def yield_cpu(self) -> None:
        """Make every SCIM thread serving a request nicer now (raising a thread's niceness
        needs no privilege); it stays so until the reserved pool has been quiet for
        ``CALM_AFTER``."""
        with self.lock:
            self._yield_until = time.monotonic() + self._calm_after
            for number in self._serving - self._niced:
                self._make_nicer(number)

    def _make_nicer(self, thread_no: int) -> None:
        """(the lock held)"""
        self._niced.add(thread_no)
        _set_niceness(self._native[thread_no], self._nicer)

    def niceness(self) -> tuple[int, list[int]]:
        """The process's own niceness and each running SCIM thread's, as the system has them."""
        with self.lock:
            natives = list(self._native.values())
        values = []
        for native in natives:
            with contextlib.suppress(OSError):  # retired meanwhile
                values.append(os.getpriority(os.PRIO_PROCESS, native))
        return self._base, values

    def _calm(self, thread_no: int) -> bool:
        now = time.monotonic()
        if now < self._yield_until or now - self._born[thread_no] < MIN_THREAD_LIFE:
            return False
        return self._quiet()

    def handler_thread(self, thread_no: int) -> None:
        """waitress's worker loop, and a niced thread's retirement after the calm."""
        with self.lock:
            self._native[thread_no] = threading.get_native_id()
            self._born[thread_no] = time.monotonic()
        while True:
            with self.lock:
                while not self.queue and self.stop_count == 0:
                    self.active_count -= 1
                    self.queue_cv.wait()
                    self.active_count += 1
                if self.stop_count > 0:
                    self.stop_count -= 1
                    self._leave(thread_no)
                    break
                if thread_no in self._niced and self._calm(thread_no):
                    self._leave(thread_no)
                    self.replaced += 1
                    self._spawn_cv.notify()  # a fresh thread takes the task
                    break
                task = self.queue.popleft()
                self._serving.add(thread_no)
                if thread_no not in self._niced and not self._quiet():
                    self._make_nicer(thread_no)
            try:
                task.service()
            except BaseException:
                self.logger.exception("Exception when servicing %r", task)
            finally:
                with self.lock:
                    self._serving.discard(thread_no)

    def _leave(self, thread_no: int) -> None:
        """A thread's exit (the lock held)."""
        self.active_count -= 1
        self.threads.discard(thread_no)
        self._native.pop(thread_no, None)
        self._born.pop(thread_no, None)
        self._niced.discard(thread_no)
        self.thread_exit_cv.notify()

    def _spawn_loop(self) -> None:
        with self.lock:
            while self._count > 0:
                running = len(self.threads) - self.stop_count
                number = 0
                while running < self._count:
                    while number in self.threads:
                        number += 1
                    self.threads.add(number)
                    running += 1
                    self.active_count += 1
                    self.start_new_thread(self.handler_thread, number)
                self._spawn_cv.wait()
            self._spawner = None


def _own_niceness() -> int:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)  # Linux: the calling thread's
    except (OSError, AttributeError):
        return 0


def _set_niceness(native_id: int, value: int) -> None:
    """Linux only: elsewhere PRIO_PROCESS takes a process id, never a thread's."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, native_id, value)


class SplitDispatcher:
    """waitress's task dispatcher interface over two pools, chosen by the request path. A
    request for the reserved pool makes the SCIM threads yield the CPU (``YieldingPool``)."""

    def __init__(self, session_threads: int) -> None:
        self.control = ThreadedTaskDispatcher()
        self.scim = YieldingPool(SCIM_NICE, self._control_quiet)
        self._session_threads = max(1, session_threads)

    def _control_quiet(self) -> bool:
        return self.control.active_count == 0 and not self.control.queue

    def set_thread_count(self, count: int) -> None:
        """``count`` SCIM threads (waitress passes ``threads``); the reserved pool follows."""
        self.scim.set_thread_count(count)
        self.control.set_thread_count(self._session_threads if count > 0 else 0)

    def add_task(self, channel: Any) -> None:
        requests = getattr(channel, "requests", None) or []
        path = getattr(requests[0], "path", "") if requests else ""
        if is_scim_path(path or ""):
            self.scim.add_task(channel)
            return
        self.scim.yield_cpu()
        self.control.add_task(channel)

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
