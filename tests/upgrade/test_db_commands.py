"""``db upgrade``, ``db status``, ``db init`` and ``--version`` as an operator runs them, and
the refusal of a database newer than the code by every command, ``serve`` and ``worker``."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from cli.main import main
from store.migrate import known_migrations
from tests.bench.servers import CLI
from tests.upgrade.conftest import FUTURE, execute, record_future_migration


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n\n[logging]\nlevel = "WARNING"\n')
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, check=False)


def test_version_prints_the_release_and_exits_0() -> None:
    done = _run("--version")
    assert (done.returncode, done.stdout) == (0, "trident-scim 0.2.0\n")


def test_status_then_upgrade_then_status_on_a_0_1_0_database(
    v010_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, v010_url))
    assert main(["--config", config, "db", "status", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["current"] is None and before["pending"] == known_migrations()
    assert before["adopt"] is True and before["version"] == "0.2.0"
    assert main(["--config", config, "db", "status"]) == 0
    assert "pending:  0001_baseline (0.1.0 database: recorded, not run)" in capsys.readouterr().out

    assert main(["--config", config, "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"migration applied: {known_migrations()[0]}" in out

    assert main(["--config", config, "db", "status", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["current"] == known_migrations()[-1] and after["pending"] == []
    assert main(["--config", config, "db", "upgrade"]) == 0  # twice: nothing to do
    assert "migration applied" not in capsys.readouterr().out


def test_db_init_upgrades_and_creates_the_roles_once(
    empty_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, empty_url))
    assert main(["--config", config, "db", "init"]) == 0
    first = capsys.readouterr().out
    assert "roles created: admin, operator, viewer" in first and "migration applied" in first
    assert main(["--config", config, "db", "init"]) == 0
    assert "roles created" not in capsys.readouterr().out
    assert execute(empty_url, "SELECT count(*) FROM control_role") == [(3,)]


def _one_refusal_line(command: list[str], stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the database schema is newer"), (
        command,
        stderr,
    )
    assert FUTURE in lines[0]


def test_every_command_refuses_a_database_newer_than_the_code(
    empty_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The short commands run through the CLI's entry point in this process (the test
    harness holds the log records a process would print: none at the configured WARNING or
    above may appear); ``serve`` and ``worker``, which would otherwise run on, as processes
    that must exit by themselves."""
    config = str(_config(tmp_path, empty_url))
    assert main(["--config", config, "db", "init"]) == 0
    record_future_migration(empty_url)
    capsys.readouterr()
    for command in (["db", "upgrade"], ["db", "init"], ["token", "list"], ["user", "list"],
                    ["worker", "--once", "update_last_used"], ["db", "status"]):  # fmt: skip
        caplog.clear()
        assert main(["--config", config, *command]) == 2, command
        _one_refusal_line(command, capsys.readouterr().err)
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    for command in (["serve", "--port", "0"], ["worker"]):
        done = _run("--config", config, *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        _one_refusal_line(command, done.stderr)
    main(["--config", config, "db", "status"])
    assert f"unknown:  {FUTURE}" in capsys.readouterr().out
