"""Real ``trident-scim`` processes for the benchmark and the multi-process tests.

A config TOML written to a scratch directory, the CLI run as a subprocess (``db init``,
``token create``, ``session start``), and ``trident-scim serve`` started on 127.0.0.1 with
port 0: the bound port is read from the banner it prints. Every wait is bounded; a server
that dies or never comes up raises with the tail of its log.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from tests.bench.load import LOOPBACK, Client

CLI = str(Path(sys.executable).parent / "trident-scim")
_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def file_tail(path: Path, lines: int) -> str:
    """The last lines of a process's log, or "(no log)"."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def write_config(
    path: Path,
    url: str,
    *,
    requests_per_minute: int = 60,
    burst: int = 10,
    auth_failures_per_minute: int = 1000,
    log_level: str = "WARNING",
) -> Path:
    """A config file for processes on one database. Failed-authentication limiting is set
    high: every test client shares the loopback address, and the tests that send bad tokens
    are about revocation, not about guessing."""
    lines = [
        "[database]",
        f'url = "{url}"',
        "[api]",
        f'host = "{LOOPBACK}"',
        "port = 0",
        "[rate_limit]",
        f"requests_per_minute = {requests_per_minute}",
        f"burst = {burst}",
        f"auth_failures_per_minute = {auth_failures_per_minute}",
        "[logging]",
        f'level = "{log_level}"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(config: Path, *args: str, timeout: float = 60.0) -> str:
    """Run one CLI command to completion; its stdout, or an error with its output."""
    done = subprocess.run(
        [CLI, "--config", str(config), *args],
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"trident-scim {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout.decode(errors='replace')}\n{done.stderr.decode(errors='replace')}"
        )
    return done.stdout.decode()


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1].strip()


class ServerProcess:
    """One ``trident-scim serve`` subprocess on 127.0.0.1 (a free port chosen by the OS)."""

    def __init__(self, config: Path, log_path: Path, *, threads: int = 8,
                 worker: bool = False, program: str = CLI) -> None:  # fmt: skip
        self.program = program  # another installation's trident-scim (the wheel test)
        self.config = config
        self.log_path = log_path
        self.threads = threads
        self.worker = worker
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> ServerProcess:
        args = [self.program, "--config", str(self.config), "serve", "--host", LOOPBACK,
                "--port", "0", "--threads", str(self.threads)]  # fmt: skip
        if not self.worker:
            args.append("--no-worker")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        return self

    def wait_ready(self, timeout: float = 60.0) -> ServerProcess:
        """Wait for the banner (the port) and a 200 from /healthz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            found = _LISTENING.search(self.log_path.read_bytes())
            if found:
                self.port = int(found.group(1))
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"serve printed no address in {timeout}s:\n{self.log_tail()}")
        client = Client(self.port, timeout=5)
        try:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    if client.get("/healthz").status == 200:
                        return self
                except OSError:
                    client.close()
                time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"serve never became healthy in {timeout}s:\n{self.log_tail()}")

    def _check_alive(self) -> None:
        assert self.proc is not None, "start() first"
        if self.proc.poll() is not None:
            raise RuntimeError(f"serve exited {self.proc.returncode}:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def client(self, token: str | None = None) -> Client:
        return Client(self.port, token)

    def memory_kb(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak) of the server process, in kB."""
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
        return found

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        return file_tail(self.log_path, lines)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (a graceful stop), then SIGKILL if it does not end in time."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start().wait_ready()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes)" if git("status", "--porcelain", "-uno") else "")
