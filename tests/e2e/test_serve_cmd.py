"""``trident-scim serve`` as an operator runs it: a real process, a real port, SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.context import Store
from store.services.tokens import issue_token


def _start(config: Path, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    cmd = [sys.executable, "-m", "cli.main", "--config", str(config), "serve", "--host",
           "127.0.0.1", "--port", "0", "--threads", "4", *extra]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, lines
    proc.kill()
    raise AssertionError(
        f"serve did not start: {lines} {proc.stderr.read() if proc.stderr else ''}"
    )


def _get(url: str, path: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = json.loads(response.read() or b"null")
    conn.close()
    return response.status, body


@pytest.mark.parametrize("worker", [True, False], ids=["with-worker", "no-worker"])
def test_serve_prints_base_url_serves_and_stops_on_sigterm(
    tmp_path: Path, store: Store, store_url: str, worker: bool
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{store_url}"\n')
    proc, lines = _start(config, *([] if worker else ["--no-worker"]))
    try:
        text = "\n".join(lines)
        match = re.search(r"SCIM Base URL: (http://127\.0\.0\.1:(\d+))/scim/v2$", text, re.M)
        assert match, text
        assert f'trident-scim --config {config} token create "Okta SCIM"' in text
        assert "trident-scim" in text and " tui" in text
        url = match.group(1)
        assert _get(url, "/healthz")[0] == 200
        assert _get(url, "/scim/v2/Users")[0] == 401
        secret = issue_token(store, "Okta SCIM", "operator:test").secret
        status, body = _get(url, "/scim/v2/Users", secret)
        assert status == 200 and body["totalResults"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        stderr = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in stderr
        assert secret not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_on_a_busy_port_is_a_clear_error(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{store_url}"\n')
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", "--config", str(config), "serve", "--port",
             str(port), "--no-worker"], capture_output=True, text=True, timeout=60,
            cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
