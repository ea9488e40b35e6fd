"""``trident-scim tui`` as the real console script: it refuses to run without a terminal
(``ssh host trident-scim tui`` without ``-t``), exits on SIGHUP (the SSH connection went
away), and a missing database is one readable line, never a traceback."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import main
from store.services.roles import ensure_default_roles
from tests.support import open_test_store

SCRIPT = Path(sys.executable).parent / "trident-scim"
DEADLINE = 30.0


def _config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return str(path)


def _ready_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tui.db'}"
    store = open_test_store(url)
    ensure_default_roles(store)
    store.close()
    return _config(tmp_path, url)


@pytest.mark.parametrize("piped", ["stdin", "stdout", "both"])
def test_without_a_terminal_it_refuses_at_once(tmp_path: Path, piped: str) -> None:
    config = _ready_database(tmp_path)
    master, slave = pty.openpty()
    try:
        stdin = subprocess.PIPE if piped in ("stdin", "both") else slave
        stdout = subprocess.PIPE if piped in ("stdout", "both") else slave
        proc = subprocess.Popen(
            [str(SCRIPT), "--config", config, "tui"],
            stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            _, err_bytes = proc.communicate(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        os.close(master)
        os.close(slave)
    err = err_bytes.decode()
    assert proc.returncode == 2
    assert err.count("\n") == 1 and err.startswith("error: the TUI needs a terminal"), err


def _read_until_exit(fd: int, pid: int, deadline: float) -> int | None:
    """Drain the pty (so the app never blocks writing) until the child exits."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            with contextlib.suppress(OSError):  # EIO: the child closed its side
                os.read(fd, 65536)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
    return None


def _wait_for_screen(fd: int, text: bytes, deadline: float) -> None:
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            seen += os.read(fd, 65536)
            if text in seen:
                return
    raise AssertionError(f"{text!r} never appeared; last output {seen[-300:]!r}")


def test_sighup_ends_the_tui(tmp_path: Path) -> None:
    config = _ready_database(tmp_path)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the TUI on a real pseudo-terminal
        os.execve(str(SCRIPT), [str(SCRIPT), "--config", config, "tui"], env)
    code: int | None = None
    try:
        _wait_for_screen(fd, b"Provisioning", time.monotonic() + DEADLINE)
        os.kill(pid, signal.SIGHUP)
        code = _read_until_exit(fd, pid, time.monotonic() + DEADLINE)
        assert code is not None, "the TUI kept running after SIGHUP"
        assert code in (0, 129), f"exit status {code}: not a clean exit (killed by the signal?)"
    finally:
        if code is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_negative_refresh_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.db"
    assert main(["--config", _config(tmp_path, f"sqlite:///{db}"), "tui", "--refresh", "-1"]) == 2
    assert "--refresh must be 0 (off) or a number of seconds" in capsys.readouterr().err
