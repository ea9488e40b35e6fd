"""The Store: one bound database plus the clock, id and randomness sources the rules use.

Every use case takes a Store as its first argument. Tests pass their own clock; production
uses the system clock and the OS random source.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from store.config import Settings
from store.db import open_database
from store.entities import BoundDatabase
from store.migrate import check_current, upgrade


def utc_now() -> datetime:
    """Naive UTC, the form every timestamp is stored in."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class HostClock:
    """This host's clock, ``skew`` off the true time: what a process reads on a host whose
    clock has drifted (``utc_now`` is the same with no skew). On PostgreSQL, state that
    processes on several hosts share (rate-limit buckets) is judged by the database's clock
    whenever a process runs on its host's clock, so hosts that disagree still agree there."""

    skew: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.skew


def on_host_clock(clock: Callable[[], datetime]) -> bool:
    """Whether ``clock`` is a host's clock (``utc_now``, a ``HostClock``), not one a caller
    sets by hand (tests, replays), which then judges everything itself."""
    return clock is utc_now or isinstance(clock, HostClock)


@dataclass
class Store:
    db: BoundDatabase  # a pony.orm.Database with the entities of store.db bound
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    random_bytes: Callable[[int], bytes] = os.urandom

    @property
    def provider(self) -> str:
        return str(self.db.provider_name)

    def close(self) -> None:
        self.db.disconnect()


def open_store(settings: Settings, create: bool = False, **overrides: Any) -> Store:
    """Bind the configured database. ``create`` applies the pending migrations first (under
    the migration lock, creating a SQLite file with ``[database] file_mode``); without it
    nothing is created, and a database that is not exactly at this code's schema (none yet,
    newer, or not upgraded) is refused with a one-line StoreError."""
    url, busy_ms = settings.database.url, settings.database.busy_timeout_ms
    if create:
        upgrade(url, busy_ms, file_mode=settings.database.file_mode_bits)
    else:
        check_current(url, busy_ms)
    db = open_database(url, busy_timeout_ms=busy_ms)
    return Store(db=db, settings=settings, **overrides)


def naive_utc(value: datetime) -> datetime:
    """Aware or naive-UTC datetime -> naive UTC, the stored form."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Stored naive UTC -> aware UTC for records."""
    return None if value is None else value.replace(tzinfo=UTC)
