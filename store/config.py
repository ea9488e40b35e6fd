"""One typed settings tree, loaded from TOML.

The config path comes from ``--config``, then ``$TRIDENT_SCIM_CONFIG``, then ``./config.toml``;
with none of them present the built-in defaults describe a complete single-host install on a
SQLite file. This module only reads and validates settings: it never opens the database.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from store.domain import limits

CONFIG_ENV = "TRIDENT_SCIM_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds an invalid value."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///trident-scim.db"
    """``sqlite:///path`` (relative to the working directory, or absolute with four slashes)
    or ``postgresql://user[:password]@host:port/dbname``."""
    busy_timeout_ms: int = 10_000
    """How long a SQLite writer waits for another process's lock before giving up (503)."""
    file_mode: str = "0600"
    """Permissions of a SQLite file the service creates (and, by SQLite, of its -wal and -shm
    files), whatever the umask: "0600" for the service user alone, "0660" so an operators'
    group can run the TUI and CLI as themselves (README "Operator access")."""

    @property
    def file_mode_bits(self) -> int:
        return int(self.file_mode, 8)


@dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    """Interface waitress listens on. Put nginx (TLS) in front for anything but loopback."""
    port: int = 8080
    """TCP port of the SCIM API and /auth/session (0: any free port, printed at start)."""
    public_url: str = "http://127.0.0.1:8080"
    """The HTTPS address the IdPs reach (TLS terminated by the reverse proxy in front), e.g.
    ``https://control.example.com``; the SCIM Base URL is this plus ``/scim/v2``. The default
    works only from this machine: a cloud IdP cannot reach it, so set it before connecting one."""
    threads: int = 0
    """waitress worker threads per process for SCIM requests (each holds one database
    connection); 0 picks by backend: 1 on SQLite, 4 on PostgreSQL. A process runs Python on
    one core at a time, so more threads only help while requests wait on the database: SQLite
    answers in microseconds and takes one writer at a time, and its threads mostly hand the
    interpreter to each other (one thread served every SCIM operation 25-50% faster than 4);
    PostgreSQL requests wait on the network and the WAL, and 4 kept its writes as fast as 8.
    With one thread a request waits for the one before it, a costly filter at most for
    ``[limits] query_budget_ms``."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted; larger bodies get 413."""
    max_results: int = 1000
    """Largest page a list or search returns (``count`` above it is capped)."""
    max_operations: int = 1000
    """Largest number of operations in one PATCH request."""
    max_filter_length: int = limits.FILTER_LENGTH
    """Longest filter expression accepted."""
    activity_flush_seconds: float = 1.0
    """How often the request log buffer is written to the database."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses of reverse proxies whose X-Forwarded-For names the real client for the
    request log and failed-login limits; from any other peer the header is ignored. The same
    header names a browser session's address on GET /auth/session (nginx's auth_request, or
    Control's web tier when it calls it itself: list its address here and have it send the
    browser's address as X-Forwarded-For and the browser's User-Agent); from a peer not listed
    a session records neither. Listing 127.0.0.1 trusts every process on this host (any of
    them can connect and name any address): list it only when the API port is firewalled to
    the proxy's user (README "Reverse proxy")."""
    session_threads: int = 2
    """Threads reserved for /auth/session, /livez, /healthz and /metrics, besides ``threads``
    (which serve SCIM only): a saturated SCIM API never delays Control's session check."""
    connection_limit: int = 500
    """Open connections waitress accepts; beyond it new connections wait in the listen
    backlog. Each takes a file descriptor: keep it under the process's open-files limit."""
    channel_timeout: int = 30
    """Seconds an idle connection (no bytes either way) is kept open."""
    request_timeout: int = 30
    """Seconds a client has to send one whole request (headers and body) once it started;
    a slower one (one byte every few seconds) is disconnected, so slow clients cannot hold
    connections for ever."""
    cleanup_interval: int = 2
    """Seconds between sweeps for idle and too slow connections."""
    backlog: int = 1024
    """Length of the listen queue for connections not yet accepted."""


@dataclass(frozen=True)
class LimitSettings:
    query_budget_ms: int = 1000
    """Longest one statement of a SCIM list or search may run in the database (its page and
    its count are one statement each; SQLite: a progress handler, PostgreSQL:
    statement_timeout). A filter that needs longer is refused with 400 invalidFilter "too
    costly", so one costly filter never holds the database for long."""


@dataclass(frozen=True)
class RateLimitSettings:
    requests_per_minute: int = 60
    """Sustained SCIM requests per minute per token (override per token with --rate-limit)."""
    burst: int = 10
    """Extra requests a token may send at once above the sustained rate."""
    auth_failures_per_minute: int = 10
    """Failed authentications allowed per client address per minute before 429."""


@dataclass(frozen=True)
class SessionSettings:
    cookie_name: str = "control_session"
    """Name of Control's browser session cookie checked by /auth/session."""
    absolute_timeout_minutes: int = 720
    """A session ends this long after sign-in, however active."""
    idle_timeout_minutes: int = 60
    """A session ends after this long without a request."""
    sign_in_url: str = "/sso/login"
    """Where /auth/session sends a browser whose session is missing or ended."""


@dataclass(frozen=True)
class RoleSettings:
    defaults: tuple[str, ...] = ("admin", "operator", "viewer")
    """Roles created by ``db init`` when missing; operators can add more."""


@dataclass(frozen=True)
class WorkerSettings:
    reconcile_seconds: int = 300
    """Period of the full role reconciliation (mapping edits also trigger a run within seconds)."""
    session_expiry_seconds: int = 60
    """Period of the session expiry sweep."""
    last_used_seconds: int = 15
    """Period of the Last Used update; Last Used is correct within this plus the API flush."""
    stale_check_seconds: int = 300
    """Period of the stale-provisioning check."""
    stale_after_hours: float = 24.0
    """A token whose IdP has sent nothing for this long is flagged stale."""
    retention_seconds: int = 3600
    """Period of the request-log pruning job."""
    activity_retention_days: int = 30
    """Request-log entries older than this are pruned; audit history is never pruned."""
    activity_max_rows: int = 1_000_000
    """The request log keeps at most this many rows: the pruning job deletes the oldest
    beyond it, whatever their age (0: no size limit, age only)."""
    lease_ttl_seconds: int = 120
    """A worker that stops renewing its lease for this long is replaced by another. Also how
    long a killed serve or worker process still counts as holding the database (db restore)."""
    mapping_watch_seconds: int = 5
    """How often the worker checks whether the group-to-role mapping changed (a cheap digest
    of the small mapping table); a change starts a role reconciliation at once."""
    job_run_retention_days: int = 7
    """Worker run records (the health history) older than this are pruned."""


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    """Python logging level for the service."""
    format: str = "text"
    """``text`` (one readable line per event) or ``json`` (one JSON object per line, for a log
    collector). Either way timestamps are UTC in ISO 8601 with a ``Z``."""
    access_log: bool = True
    """Log one line per HTTP request (method, path without the query string, status,
    latency, token name, client address and request id) on the ``trident_scim.access``
    logger."""


LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True
    """Serve Prometheus metrics at ``GET /metrics`` (every name starts with ``trident_scim_``)."""
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1")
    """Addresses or networks (CIDR) allowed to read /metrics; others get 403. Only the
    connection's own peer address counts: X-Forwarded-For is never trusted here, and a request
    that carries it (it came through a proxy) is refused."""
    database_refresh_seconds: float = 15.0
    """Figures read from the database when scraped (worker health, lease holder, tokens' Last
    Used, deactivations) are reused for this long, so frequent scrapes cost one read."""


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    roles: RoleSettings = field(default_factory=RoleSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    source: str = "built-in defaults"
    """Where these settings came from (a path or 'built-in defaults')."""

    @property
    def scim_base_url(self) -> str:
        return self.api.public_url.rstrip("/") + "/scim/v2"


def _coerce(section: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{section}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"[{section}] has unknown key(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, value in raw.items():
        expected = type(getattr(defaults, name))
        if expected is tuple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"[{section}] {name} must be a list of strings")
            value = tuple(value)
        elif expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(f"[{section}] {name} must be {expected.__name__}, got {value!r}")
        if expected in (int, float) and value < 0:
            raise ConfigError(f"[{section}] {name} must not be negative")
        values[name] = value
    return replace(defaults, **values)


def settings_from_dict(data: dict[str, Any], source: str = "dict") -> Settings:
    """Build settings from a parsed TOML document, rejecting unknown keys and wrong types."""
    base = Settings()
    sections: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name == "source":
            continue
        if f.name in data:
            current = getattr(base, f.name)
            assert is_dataclass(current)
            sections[f.name] = _coerce(f.name, type(current), data[f.name])
    unknown = sorted(set(data) - {f.name for f in fields(Settings)} - {"source"})
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(unknown)}")
    settings = replace(base, source=source, **sections)
    _check_ranges(settings)
    return settings


FILE_MODES = ("0600", "0640", "0660")


def _check_ranges(settings: Settings) -> None:
    if settings.rate_limit.requests_per_minute < 1:
        raise ConfigError("[rate_limit] requests_per_minute must be at least 1")
    if not 0 <= settings.api.port <= 65535:
        raise ConfigError(
            f"[api] port must be between 0 (any free port) and 65535, got {settings.api.port}"
        )
    for name in ("session_threads", "connection_limit", "channel_timeout",
                 "request_timeout", "cleanup_interval", "backlog"):  # fmt: skip
        if getattr(settings.api, name) < 1:
            raise ConfigError(f"[api] {name} must be at least 1")
    if settings.limits.query_budget_ms < 1:
        raise ConfigError("[limits] query_budget_ms must be at least 1")
    if settings.database.file_mode not in FILE_MODES:
        raise ConfigError(
            f"[database] file_mode must be one of {', '.join(FILE_MODES)} (never readable by "
            f"others), got {settings.database.file_mode!r}"
        )
    _check_operations(settings)
    _check_durations(settings)


MAX_DURATION_MINUTES = 100 * 365 * 24 * 60
"""Longest duration a setting may name (100 years): a session's end or a retention cut-off
computed from a larger one falls outside the dates Python and the databases can hold."""
_MINUTES_PER = {"_ms": 1 / 60_000, "_seconds": 1 / 60, "_minutes": 1, "_hours": 60, "_days": 1440}


def _check_durations(settings: Settings) -> None:
    for section in fields(Settings):
        group = getattr(settings, section.name)
        if not is_dataclass(group):
            continue
        for f in fields(group):
            unit = next((u for u in _MINUTES_PER if f.name.endswith(u)), None)
            value = getattr(group, f.name)
            if unit is not None and value * _MINUTES_PER[unit] > MAX_DURATION_MINUTES:
                raise ConfigError(
                    f"[{section.name}] {f.name} must be at most 100 years, got {value}"
                )


def _check_operations(settings: Settings) -> None:
    """The logging and metrics values that are not just a type: a format name, networks."""
    if settings.logging.format not in LOG_FORMATS:
        raise ConfigError(f"[logging] format must be one of {', '.join(LOG_FORMATS)}")
    for entry in settings.metrics.allow:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"[metrics] allow: {entry!r} is not an IP address or network"
            ) from None


def resolve_config_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path(DEFAULT_CONFIG_FILE)
    if not local.exists():
        return None
    _check_own_file(local)
    return local


def _check_own_file(path: Path) -> None:
    """The ``./config.toml`` of the working directory is taken without being named, so it
    must be the operator's own: owned by this user (or root) and writable by nobody else
    (a group-writable file is fine in the user's own primary group, as with umask 002).
    Otherwise a local account could plant one in a shared directory and choose the database
    and the SCIM Base URL that ``token create`` tells the operator to give the IdP."""
    info = path.stat()
    if info.st_uid not in (os.getuid(), 0):
        raise ConfigError(
            f"{path.absolute()} is owned by uid {info.st_uid}, not by you: not used; "
            "pass --config PATH to use it anyway"
        )
    group_writable = info.st_mode & stat.S_IWGRP and info.st_gid != os.getgid()
    if info.st_mode & stat.S_IWOTH or group_writable:
        raise ConfigError(
            f"{path.absolute()} is writable by other users: not used; "
            f"chmod go-w it, or pass --config PATH to use it anyway"
        )


def load_settings(explicit: str | None = None) -> Settings:
    """Load settings from the resolved config path, or the defaults when there is none."""
    path = resolve_config_path(explicit)
    if path is None:
        return Settings()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except PermissionError:
        from store.db_access import denied  # the same advice as for the database files

        raise ConfigError(denied(path, "read").message) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    return settings_from_dict(data, source=str(path))


SQLITE_THREADS = 1
POSTGRESQL_THREADS = 4


def scim_threads(api: ApiSettings, provider: str) -> int:
    """The SCIM worker threads of a ``serve`` process: ``[api] threads``, or when it is 0 the
    backend's own (``SQLITE_THREADS``, ``POSTGRESQL_THREADS``; ``provider`` as Pony names it)."""
    if api.threads > 0:
        return api.threads
    return POSTGRESQL_THREADS if provider == "postgres" else SQLITE_THREADS
