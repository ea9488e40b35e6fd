"""Expected failures of the real ``trident-scim`` script: one line on stderr, a non-zero exit,
no traceback, and nothing created on the way (no empty database file)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_identity_commands import SCRIPT
from tests.support import create_pg_database, drop_pg_database, open_test_store

READ_COMMANDS = [
    ("user", "list"),
    ("user", "show", "alice"),
    ("token", "list"),
    ("role", "list"),
    ("mapping", "list"),
    ("worker", "status"),
    ("worker", "--list"),
    ("activity",),
    ("db", "status"),
]


PG = "postgresql://{user}:s3cret@127.0.0.1:{port}/{db}"


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "--config", str(config), *args],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_read_command_without_a_database_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "trident-scim.db"
    config = write_config(tmp_path, f'[database]\nurl = "sqlite:///{db}"\n')
    line = one_line_error(run(config, *command))
    assert line == f"error: no database at {db}; run `trident-scim db init`"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_an_empty_database_file_says_it_has_no_schema(tmp_path: Path) -> None:
    db = tmp_path / "trident-scim.db"
    db.touch()
    config = write_config(tmp_path, f'[database]\nurl = "sqlite:///{db}"\n')
    line = one_line_error(run(config, "user", "list"))
    assert "has no schema yet" in line and "trident-scim db init" in line


def test_config_show_needs_no_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n')
    done = run(config, "config", "show")
    assert done.returncode == 0 and not (tmp_path / "x.db").exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("what", "url", "expected"),
    [
        ("closed port", PG.format(user="postgres", port="{port}", db="control"), "refused"),
        ("no database", PG.format(user="postgres", port=5432, db="trident_none"), "trident_none"),
        ("no role", PG.format(user="trident_nobody", port=5432, db="postgres"), "trident_nobody"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "command", [("user", "list"), ("token", "list"), ("worker", "--once", "expire_sessions")]
)
def test_postgresql_that_cannot_be_used(
    tmp_path: Path, what: str, url: str, expected: str, command: tuple[str, ...]
) -> None:
    config = write_config(tmp_path, f'[database]\nurl = "{url.format(port=_free_port())}"\n')
    line = one_line_error(run(config, *command))
    assert line.startswith("error: cannot open PostgreSQL at 127.0.0.1:") and expected in line
    assert "s3cret" not in line


@pytest.mark.postgres
def test_postgresql_without_schema_points_at_db_init(tmp_path: Path) -> None:
    url = create_pg_database()
    try:
        config = write_config(tmp_path, f'[database]\nurl = "{url}"\n')
        line = one_line_error(run(config, "token", "list"))
        assert "has no schema yet" in line and "trident-scim db init" in line
    finally:
        drop_pg_database(url)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "[api]\nport = 99999\n",
            "error: [api] port must be between 0 (any free port) and 65535, got 99999",
        ),
        ('[api]\nport = "8080"\n', "error: [api] port must be int, got '8080'"),
        ("[api\nport = 1\n", "error: cannot read config file"),
        ('[database]\nfile_mode = "0666"\n', "error: [database] file_mode must be one of"),
        ("[nonsense]\n", "error: unknown section(s): nonsense"),
    ],
)
def test_a_bad_config_file_is_one_line(tmp_path: Path, body: str, expected: str) -> None:
    config = write_config(tmp_path, body)
    for command in (("user", "list"), ("serve",), ("config", "show")):
        assert one_line_error(run(config, *command)).startswith(expected)


def test_serve_port_out_of_range(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n')
    line = one_line_error(run(config, "serve", "--port", "99999"))
    assert line == "error: --port must be between 0 (any free port) and 65535, got 99999"
    assert not (tmp_path / "x.db").exists()


def _unprivileged() -> str | None:
    """'nobody', when this (root) test run can act as it and it can run the script."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    try:
        name = pwd.getpwnam("nobody").pw_name
    except KeyError:
        return None
    probe = subprocess.run(
        ["runuser", "-u", name, "--", str(SCRIPT), "--help"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    return name if probe.returncode == 0 else None


def test_permission_denied_names_the_file_and_what_to_do(tmp_path: Path) -> None:
    if _unprivileged() is None:
        pytest.skip("needs root, runuser, and a Python installation 'nobody' may run")
    db = tmp_path / "trident-scim.db"
    open_test_store(f"sqlite:///{db}").close()
    os.chmod(db, 0o600)
    config = write_config(tmp_path, f'[database]\nurl = "sqlite:///{db}"\n')
    os.chmod(config, 0o644)
    for path in (tmp_path, *tmp_path.parents):  # let 'nobody' reach the files
        if path == Path("/"):
            break
        os.chmod(path, os.stat(path).st_mode | 0o005)
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", str(SCRIPT), "--config", str(config), "user", "list"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    line = one_line_error(done)
    assert line.startswith(f"error: permission denied: nobody cannot read and write {db}")
    assert "usermod -aG" in line and "db init" not in line


SYSTEM_PYTHON = Path("/usr/bin/python3")
ROOT = Path(__file__).resolve().parents[2]


def test_access_check_as_an_operator_outside_the_group(tmp_path: Path) -> None:
    """The rule behind the message above, run as 'nobody' by the system Python (the
    check needs only the standard library), where root would pass every access check."""
    if os.geteuid() != 0 or shutil.which("runuser") is None or not SYSTEM_PYTHON.exists():
        pytest.skip("needs root, runuser and /usr/bin/python3")
    db = tmp_path / "trident-scim.db"
    db.write_bytes(b"")
    os.chmod(db, 0o600)
    for path in (tmp_path, *tmp_path.parents):
        if path == Path("/"):
            break
        os.chmod(path, os.stat(path).st_mode | 0o005)
    output = _access_check_as_nobody(db)
    assert output.startswith(f"permission denied: nobody cannot read and write {db} (owner root")
    assert "usermod -aG root nobody" in output and "db init" not in output
    # the same file as a config file nobody may read: the same advice
    assert f"permission denied: nobody cannot read {db} (owner root" in output
    os.chmod(db, 0o666)
    assert _access_check_as_nobody(db).startswith(
        f"permission denied: nobody cannot create the -wal and -shm files in {tmp_path}"
    )


def _access_check_as_nobody(db: Path) -> str:
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from store.db_access import check_sqlite_access\n"
        "from store.config import ConfigError, load_settings\n"
        "from store.errors import StoreError\n"
        "try:\n    check_sqlite_access(sys.argv[1])\n"
        "except StoreError as exc:\n    print(exc.message)\n"
        "try:\n    load_settings(sys.argv[1])\n"
        "except ConfigError as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", str(SYSTEM_PYTHON), "-I", "-c", code, str(db)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.stdout
