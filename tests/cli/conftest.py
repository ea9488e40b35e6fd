"""Fixtures of the command-line tests: a config file naming the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{store_url}"\n\n[api]\npublic_url = "https://scim.example.test"\n'
    )
    return path
