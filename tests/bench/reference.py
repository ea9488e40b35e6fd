"""The reference server beside ours: python-scim's ``scim2-server`` (a bench-only dependency,
the ``bench`` extra), started as its own process on 127.0.0.1 with a static bearer token.

It keeps everything in memory and writes nothing durable; it is the yardstick the bench's
targets (compare.TARGETS) are set against, never something the product depends on.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from types import TracebackType

from tests.bench.load import LOOPBACK, Client
from tests.bench.servers import cpu_seconds, file_tail

PROGRAM = str(Path(sys.executable).parent / "scim2-server")
_SERVING = re.compile(rb"Serving SCIM on http://127\.0\.0\.1:(\d+)/v2")


def reference_version() -> str | None:
    """The installed scim2-server's version, or None when the bench extra is missing."""
    try:
        return metadata.version("scim2-server")
    except metadata.PackageNotFoundError:
        return None


def _free_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (the reference takes no port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class ReferenceServer:
    """One ``scim2-server`` process; SCIM under ``/v2``."""

    prefix = "/v2"

    def __init__(self, token: str, log_path: Path) -> None:
        self.token = token
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout: float = 30.0) -> ReferenceServer:
        for _attempt in range(3):  # the port may be taken between choosing and binding it
            port = _free_port()
            args = [
                PROGRAM,
                "--hostname",
                LOOPBACK,
                "--port",
                str(port),
                "--bearer-token",
                self.token,
            ]
            with self.log_path.open("wb") as log:
                self.proc = subprocess.Popen(
                    args,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                found = _SERVING.search(self.log_path.read_bytes())
                if found and self._answers(int(found.group(1))):
                    self.port = int(found.group(1))
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"scim2-server did not come up:\n{self.log_tail()}")

    def _answers(self, port: int) -> bool:
        client = Client(port, self.token, timeout=5)
        try:
            return client.get(self.prefix + "/ServiceProviderConfig").status == 200
        except OSError:
            return False
        finally:
            client.close()

    def client(self) -> Client:
        return Client(self.port, self.token)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        return file_tail(self.log_path, lines)

    def stop(self) -> None:
        """SIGINT (it stops serving on KeyboardInterrupt), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
