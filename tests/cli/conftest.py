"""Fixtures of the command tests: a config file on the test's database, and the commands
run in-process through ``cli.main.main``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from cli.main import main
from store.context import Store, utc_now

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def live(store: Store) -> Store:
    """The test's store on the real clock, as the commands run on it (sessions and rate
    buckets they write are judged by the same clock)."""
    return replace(store, clock=utc_now)


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{store_url}"\n\n[api]\npublic_url = "https://scim.example.test"\n'
    )
    return path


@pytest.fixture
def cli(config: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run one command in-process; returns (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("db", "init")
    assert code == 0, out
    return run
