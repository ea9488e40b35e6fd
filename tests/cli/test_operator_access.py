"""``[database] file_mode``: the SQLite file and its -wal/-shm companions are created with the
configured mode whatever the umask (systemd's UMask), so an operators' group can share them."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_identity_commands import SCRIPT


@pytest.mark.parametrize("mode", ["0600", "0660"])
def test_database_files_get_the_configured_mode_under_a_strict_umask(
    tmp_path: Path, mode: str
) -> None:
    db = tmp_path / "trident-scim.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\nfile_mode = "{mode}"\n')
    for command in ("db init", "token create probe"):
        subprocess.run(
            f"umask 0077 && '{SCRIPT}' --config '{config}' {command}",
            shell=True, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    assert f"{stat.S_IMODE(db.stat().st_mode):04o}" == mode
    # SQLite gives the -wal and -shm files (present while a connection is open) the mode of
    # the database file, whatever the umask of the process that opens it first.
    previous = os.umask(0o077)
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("UPDATE schema_meta SET value = value")
            conn.commit()
            companions = [Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert {f"{stat.S_IMODE(f.stat().st_mode):04o}" for f in companions} == {mode}
    finally:
        os.umask(previous)
