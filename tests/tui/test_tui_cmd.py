"""``trident-scim tui`` refuses a missing or unreachable database with a readable error that
points at ``trident-scim db init``, never a traceback and never a password."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cli.main import main


def _config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return str(path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_missing_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "nothing-here.db"
    assert main(["--config", _config(tmp_path, f"sqlite:///{db}"), "tui"]) == 2
    err = capsys.readouterr().err
    assert f"database file {db} does not exist" in err and "trident-scim db init" in err
    assert not db.exists()  # looking did not create an empty database


def test_database_without_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    assert main(["--config", _config(tmp_path, f"sqlite:///{db}"), "tui"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot open the database") and "db init" in err
    assert "Traceback" not in err


def test_unreachable_postgresql_hides_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{_free_port()}/control"
    assert main(["--config", _config(tmp_path, url), "tui"]) == 2
    err = capsys.readouterr().err
    assert "cannot open the database postgresql://postgres:***@127.0.0.1" in err
    assert "s3cret" not in err


def test_negative_refresh_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.db"
    assert main(["--config", _config(tmp_path, f"sqlite:///{db}"), "tui", "--refresh", "-1"]) == 2
    assert "--refresh must be 0 (off) or a number of seconds" in capsys.readouterr().err
