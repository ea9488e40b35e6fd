"""``db restore`` refuses while a ``serve`` process holds the database (its presence lease),
unless ``--force``, and is allowed once the server has stopped: on both backends, with a
real ``trident-scim serve`` on the same database."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.db import parse_database_url
from store.services.backup import live_holders
from tests.security.process import cli, serve, write_config
from tests.support import create_pg_database, drop_pg_database


def _restore(config: Path, backup: Path, *extra: str) -> tuple[int, str]:
    done = cli(config, "db", "restore", str(backup), "--yes", *extra, check=False)
    return done.returncode, done.stderr + done.stdout


@pytest.mark.slow
def test_restore_is_refused_while_serve_runs_forced_or_after_it_stopped(
    tmp_path: Path, private_url: str, backend: str
) -> None:
    config = write_config(tmp_path / "config.toml", private_url)
    cli(config, "db", "init")
    backup = tmp_path / ("backup.db" if backend == "sqlite" else "backup.dump")
    cli(config, "db", "backup", str(backup))
    served = serve(config, tmp_path / "serve.log", threads=2)
    try:
        code, text = _restore(config, backup)
        assert code == 2, text
        assert text.startswith("error: the database is in use by"), text
        assert f"serve {_holder(served.proc.pid)}" in text
        code, text = _restore(config, backup, "--force")
        assert code == 0, text
    finally:
        assert served.stop() == 0, served.log()
    code, text = _restore(config, backup)  # the stopped server released its hold
    assert code == 0, text
    assert "database restored from" in text


def _holder(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:"


@pytest.mark.slow
def test_a_worker_process_holds_the_database_too(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        url, made = f"sqlite:///{tmp_path / 'worker.db'}", None
    else:
        url = made = create_pg_database()
    try:
        config = write_config(tmp_path / "config.toml", url)
        cli(config, "db", "init")
        backup = tmp_path / "backup.bin"
        cli(config, "db", "backup", str(backup))
        worker = subprocess.Popen([sys.executable, "-m", "cli.main", "--config", str(config),
                                   "worker"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            holder = f"worker {_holder(worker.pid)}"
            deadline = time.monotonic() + 30
            while not any(h.startswith(holder) for h in live_holders(parse_database_url(url),
                                                                      1000)):  # fmt: skip
                assert time.monotonic() < deadline and worker.poll() is None
                time.sleep(0.1)
            code, text = _restore(config, backup)
            assert code == 2 and holder in text, text
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        code, text = _restore(config, backup)
        assert code == 0, text
    finally:
        if made:
            drop_pg_database(made)
