"""Running the WSGI app on waitress: in the foreground for ``trident-scim serve``, or in a
background thread for end-to-end tests (port 0, read the bound port, stop cleanly).

Waitress does not terminate TLS; production puts a reverse proxy (nginx) in front. Nothing
here knows SCIM or the store.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from api import connections
from store.config import ApiSettings

log = logging.getLogger(__name__)

# waitress warns "Task queue depth is N" for every request that has to wait for a thread:
# under a steady load above the thread count that is one log line per request, a flood that
# costs CPU exactly when the server is busiest. Queueing shows in the request log's latencies.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

WaitressBodyLimitFactor = 16
"""waitress itself refuses bodies this many times the API limit before buffering them, so a
huge upload is cut off early while moderately oversized ones still get a SCIM 413."""


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen now, so the caller learns the real port (``port=0``) before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(ApiSettings().backlog)
    return sock


class ScimServer:
    """One waitress server on one bound socket: ``threads`` for SCIM, ``[api]
    session_threads`` reserved for the session check and probes (api/connections.py), and
    the connection limits and timeouts of ``[api]``."""

    def __init__(
        self,
        app: Callable[..., Any],
        sock: socket.socket,
        *,
        threads: int = 8,
        max_body_bytes: int = 1_048_576,
        limits: ApiSettings | None = None,
    ) -> None:
        self.host, self.port = sock.getsockname()[:2]
        limits = limits or ApiSettings()
        self.dispatcher = connections.SplitDispatcher(limits.session_threads)
        self._server: Any = create_server(
            app,
            sockets=[sock],
            threads=max(1, threads),
            _dispatcher=self.dispatcher,
            ident="trident-scim",
            max_request_body_size=max(max_body_bytes * WaitressBodyLimitFactor, 16 << 20),
            connection_limit=limits.connection_limit,
            channel_timeout=limits.channel_timeout,
            cleanup_interval=limits.cleanup_interval,
            backlog=limits.backlog,
            asyncore_use_poll=True,  # select() cannot watch descriptors above 1023
            # X-Forwarded-For must reach the app: api/client.py trusts it only from the
            # proxies in [api] trusted_proxies. Nothing else reads forwarded headers.
            clear_untrusted_proxy_headers=False,
        )
        self.dispatcher.set_thread_count(max(1, threads))  # waitress leaves a given one to us
        sock.listen(limits.backlog)
        connections.install(self._server, limits.request_timeout)
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until ``stop()`` (from a signal handler or another thread)."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()
            self._closed.set()

    def start(self) -> ScimServer:
        self._thread = threading.Thread(target=self.run, name="waitress", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in progress finish (up to ``timeout``), then close.

        Safe from a signal handler of the thread running ``run()``: the closing happens in
        waitress's own loop (through its trigger) and the draining in a helper thread."""
        drainer = threading.Thread(target=self._drain_and_close, args=(timeout,),
                                   name="waitress-stop", daemon=True)  # fmt: skip
        drainer.start()
        if threading.current_thread() is self._thread or self._is_loop_thread():
            return
        drainer.join(timeout + 5)
        if self._thread is not None:
            self._thread.join(timeout + 5)
            self._thread = None

    def _is_loop_thread(self) -> bool:
        return self._thread is None and threading.current_thread() is threading.main_thread()

    def _drain_and_close(self, timeout: float) -> None:
        server = self._server
        dispatcher = server.task_dispatcher
        self._pull(lambda: wasyncore.dispatcher.close(server))  # the listener only
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (dispatcher.active_count or dispatcher.queue):
            time.sleep(0.02)
        time.sleep(0.05)  # let the loop write out the last responses
        self._pull(lambda: wasyncore.close_all(server._map))

    def _pull(self, thunk: Callable[[], None]) -> None:
        with contextlib.suppress(OSError):  # the loop has already closed everything
            self._server.trigger.pull_trigger(thunk)


def serve(
    app: Callable[..., Any], host: str, port: int, threads: int, limits: ApiSettings | None = None
) -> None:
    """Serve ``app`` in the foreground until interrupted."""
    server = ScimServer(app, bind_socket(host, port), threads=threads, limits=limits)
    log.info("serving on %s", server.url)
    server.run()
