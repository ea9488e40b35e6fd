"""The real waitress server's own logging under load: no line per queued request."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.request import urlopen

import pytest

from api.server import ScimServer, bind_socket


def _slow_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_requests_waiting_for_a_thread_do_not_each_log_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sock = bind_socket("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = ScimServer(_slow_app, sock, threads=1).start()
    try:
        with caplog.at_level(logging.DEBUG), ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda _: urlopen(url, timeout=10).status, range(12)))
    finally:
        server.stop()
    assert statuses == [200] * 12  # one thread, six clients: most requests queued
    assert not [r for r in caplog.records if "queue depth" in r.getMessage()]
