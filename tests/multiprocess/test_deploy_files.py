"""The deployment examples in ``deploy/`` stay true to the product: the config example loads
with the real settings loader, and every command the systemd units run parses with the real
command line (a renamed flag breaks this test, not a production host)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from cli.main import build_parser
from store.config import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def test_the_postgresql_config_example_loads_and_targets_postgresql() -> None:
    settings = load_settings(str(DEPLOY / "config.postgresql.toml"))
    assert settings.database.url.startswith("postgresql://")
    assert settings.api.host == "127.0.0.1"
    assert settings.scim_base_url.startswith("https://")


def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    return parser["Service"]


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_each_systemd_unit_runs_a_real_command(unit: Path) -> None:
    service = _service(unit)
    argv = shlex.split(service["ExecStart"].replace("%i", "8081"))
    assert argv[0].endswith("/trident-scim")
    args = build_parser().parse_args(argv[1:])
    assert args.command in ("serve", "worker")
    if args.command == "serve":
        assert args.no_worker and args.host == "127.0.0.1" and args.port == 8081
    assert "TRIDENT_SCIM_CONFIG=" in service["Environment"]
    assert service["WorkingDirectory"] == "/var/lib/trident-scim"


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_each_unit_shares_the_database_with_the_operators_group_only(unit: Path) -> None:
    service = _service(unit)
    assert service["User"] == "trident-scim"
    assert service["Group"] == "trident-scim-operators"
    assert service["StateDirectoryMode"] == "2770"  # setgid: new files stay the group's
    assert service["UMask"] == "0007"  # never readable by others
