"""``trident-scim`` as separate processes, the way operators run it: a config file, ``serve``
on a free port of 127.0.0.1, CLI commands, and a kill switch (SIGKILL) for crash tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = re.compile(r"SCIM Base URL: http://127\.0\.0\.1:(\d+)/scim/v2$", re.M)


def write_config(
    path: Path, database_url: str, extra: str = "", busy_timeout_ms: int | None = None
) -> Path:
    """A config file for ``database_url``, with roomy rate limits unless ``extra`` says
    otherwise (appended verbatim: TOML sections)."""
    text = f'[database]\nurl = "{database_url}"\n'
    if busy_timeout_ms is not None:
        text += f"busy_timeout_ms = {busy_timeout_ms}\n"
    if "[rate_limit]" not in extra:
        text += "[rate_limit]\nrequests_per_minute = 1000000\nburst = 1000000\n"
        text += "auth_failures_per_minute = 1000000\n"
    path.write_text(text + extra)
    return path


def cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli.main", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"trident-scim {' '.join(args)} failed: {done.stderr}{done.stdout}")
    return done


def new_token(config: Path, name: str = "Okta SCIM") -> str:
    return cli(config, "token", "create", name).stdout.strip().splitlines()[-1]


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int
    log_path: Path
    banner: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()
        return int(self.proc.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def serve(config: Path, log_path: Path, *extra: str, port: int = 0, threads: int = 8) -> Served:
    """Start ``trident-scim serve`` and wait until it listens. stdout and stderr (the log) go
    to ``log_path``; the banner is read from it."""
    args = [sys.executable, "-m", "cli.main", "--config", str(config), "serve", "--host",
            "127.0.0.1", "--port", str(port), "--threads", str(threads), *extra]  # fmt: skip
    handle: IO[str] = log_path.open("a")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    handle.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        found = BASE_URL.search(text)
        if found and "Press Ctrl-C" in text:
            return Served(proc, int(found.group(1)), log_path, text)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError(f"serve did not start:\n{log_path.read_text(errors='replace')}")
