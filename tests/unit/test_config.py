"""Settings loading: defaults, the config path order, and readable errors."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from store.config import ConfigError, Settings, load_settings, scim_threads, settings_from_dict
from store.db import DatabaseUrlError, parse_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_describe_a_sqlite_install() -> None:
    settings = Settings()
    assert settings.database.url.startswith("sqlite:///")
    assert settings.rate_limit.requests_per_minute == 60
    assert settings.scim_base_url == "http://127.0.0.1:8080/scim/v2"


def test_path_order_explicit_then_env_then_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = tmp_path / "a.toml"
    explicit.write_text('[api]\npublic_url = "https://a.example"\n')
    env = tmp_path / "b.toml"
    env.write_text('[api]\npublic_url = "https://b.example"\n')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[api]\npublic_url = "https://c.example"\n')
    monkeypatch.setenv("TRIDENT_SCIM_CONFIG", str(env))
    assert load_settings(str(explicit)).scim_base_url == "https://a.example/scim/v2"
    assert load_settings(None).scim_base_url == "https://b.example/scim/v2"
    monkeypatch.delenv("TRIDENT_SCIM_CONFIG")
    assert load_settings(None).scim_base_url == "https://c.example/scim/v2"
    (tmp_path / "config.toml").unlink()
    assert load_settings(None).source == "built-in defaults"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"api": {"port": "80"}}, "port must be int"),
        ({"api": {"nope": 1}}, "unknown key"),
        ({"bogus": {}}, "unknown section"),
        ({"rate_limit": {"requests_per_minute": 0}}, "at least 1"),
        ({"rate_limit": {"burst": -1}}, "must not be negative"),
        ({"api": {"threads": True}}, "threads must be int"),
        ({"api": {"threads": -1}}, "threads must not be negative"),
    ],
)
def test_bad_values_are_rejected_readably(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_dict(data)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(str(tmp_path / "none.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("[api\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(str(broken))


def test_example_config_documents_every_key() -> None:
    text = (ROOT / "config.example.toml").read_text()
    lines = text.splitlines()
    data = tomllib.loads(text)
    defaults = Settings()
    for section in fields(Settings):
        if section.name == "source":
            continue
        for key in fields(getattr(defaults, section.name)):
            assert key.name in data.get(section.name, {}), f"{section.name}.{key.name} undocumented"
        for i, line in enumerate(lines):
            if "=" in line and not line.lstrip().startswith("#"):
                assert lines[i - 1].lstrip().startswith("#"), f"line {i + 1} needs a comment above"
    assert settings_from_dict(data) == settings_from_dict({})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////var/lib/x.db", {"provider": "sqlite", "filename": "/var/lib/x.db"}),
        (
            "postgresql://scim@db.internal:6543/control",
            {
                "provider": "postgres",
                "host": "db.internal",
                "port": 6543,
                "user": "scim",
                "database": "control",
            },
        ),
    ],
)
def test_database_urls(url: str, expected: dict) -> None:
    parsed = parse_database_url(url)
    for key, value in expected.items():
        assert parsed[key] == value


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite://", "sqlite:///:memory:", "postgresql://h:5432/"]
)
def test_bad_database_urls(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        parse_database_url(url)


def test_example_file_is_the_generated_one() -> None:
    from store.config_doc import example_config

    assert (ROOT / "config.example.toml").read_text() == example_config().rstrip("\n") + "\n"


def test_config_show_masks_database_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\nurl = "postgresql://scim:s3cret-pw@db:5432/control"\n')
    assert main(["--config", str(cfg), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    assert "postgresql://scim:***@db:5432/control" in out


def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    from store.context import open_store
    from tests.support import settings_for

    path = tmp_path / "nested" / "control.db"
    store = open_store(settings_for(f"sqlite:///{path}"), create=True)
    store.close()
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("section", "message"),
    [({"logging": {"format": "xml"}}, "format must be one of text, json"),
     ({"metrics": {"allow": ["127.0.0.0/8", "localhost"]}}, "'localhost' is not an IP"),
     ({"metrics": {"allow": "127.0.0.1"}}, "allow must be a list of strings")],
)  # fmt: skip
def test_logging_and_metrics_values_are_checked(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_dict(section)


def test_metrics_allow_takes_addresses_and_networks() -> None:
    settings = settings_from_dict({"metrics": {"allow": ["10.0.0.0/8", "::1", "192.0.2.7"]}})
    assert settings.metrics.allow == ("10.0.0.0/8", "::1", "192.0.2.7")
    assert settings.logging.format == "text" and settings.metrics.enabled


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("sessions", "absolute_timeout_minutes", 5_000_000_000),
     ("sessions", "idle_timeout_minutes", 60 * 24 * 365 * 101),
     ("worker", "activity_retention_days", 4_000_000),
     ("worker", "stale_after_hours", 1e12),
     ("database", "busy_timeout_ms", 10**18)],
)  # fmt: skip
def test_a_duration_past_any_date_is_a_config_error(section: str, key: str, value: float) -> None:
    """Out of range, a session timeout made every sign-in (``session start``) a traceback."""
    with pytest.raises(ConfigError, match=f"\\[{section}\\] {key} must be at most 100 years"):
        settings_from_dict({section: {key: value}})
    assert settings_from_dict({section: {key: 60}})


def test_scim_threads_are_the_backends_unless_set() -> None:
    """``[api] threads = 0`` (the default): one SCIM thread on SQLite, four on PostgreSQL;
    any other value is taken as it is, on either backend."""
    default = settings_from_dict({}).api
    assert default.threads == 0
    assert scim_threads(default, "sqlite") == 1
    assert scim_threads(default, "postgres") == 4
    three = settings_from_dict({"api": {"threads": 3}}).api
    assert scim_threads(three, "sqlite") == scim_threads(three, "postgres") == 3
