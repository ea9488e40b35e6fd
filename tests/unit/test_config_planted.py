"""A ``./config.toml`` found in the working directory is used only when it is the operator's
own: a local account that plants one in a shared directory (``/tmp``) must not choose the
SCIM Base URL a ``token create`` tells the operator to give the IdP, nor the database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from store.config import ConfigError, load_settings

PLANTED = '[api]\npublic_url = "https://attacker.example"\n'


@pytest.fixture
def local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TRIDENT_SCIM_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.toml"
    path.write_text(PLANTED)
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("mode", [0o666, 0o646])
def test_a_local_config_others_can_write_is_refused(local_config: Path, mode: int) -> None:
    local_config.chmod(mode)
    with pytest.raises(ConfigError, match="config.toml.*writable"):
        load_settings(None)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another group")
def test_a_local_config_another_group_can_write_is_refused(local_config: Path) -> None:
    local_config.chmod(0o664)
    assert load_settings(None).scim_base_url  # the user's own group (umask 002): fine
    os.chown(local_config, -1, 65534)
    with pytest.raises(ConfigError, match="config.toml.*writable"):
        load_settings(None)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_a_local_config_owned_by_another_user_is_refused(local_config: Path) -> None:
    os.chown(local_config, 65534, 65534)
    with pytest.raises(ConfigError, match="config.toml.*owned by uid 65534"):
        load_settings(None)


def test_the_operators_own_local_config_and_explicit_paths_still_load(
    local_config: Path, tmp_path: Path
) -> None:
    assert load_settings(None).scim_base_url == "https://attacker.example/scim/v2"
    local_config.chmod(0o666)
    # naming the file is the operator's explicit choice: it is read as named
    assert load_settings(str(local_config)).scim_base_url == "https://attacker.example/scim/v2"
