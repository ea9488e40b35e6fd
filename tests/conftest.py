"""Database fixtures: every store and API test runs on a real SQLite file and on PostgreSQL.

Set TRIDENT_TEST_BACKENDS=sqlite to skip PostgreSQL on a machine without it; CI runs both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from store.context import Store
from tests.support import (
    FakeClock,
    create_pg_database,
    drop_pg_database,
    open_test_store,
    wipe,
)

BACKENDS = [b for b in os.environ.get("TRIDENT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

LONG_FIRST = (
    "tests/multiprocess/",
    "tests/faults/",
    "tests/store/test_member_batches.py",
    "tests/upgrade/test_db_commands.py",
    "tests/packaging/",
    "tests/worker/test_worker_cli.py",
    "tests/store/test_groups_concurrency.py",
    "tests/store/test_filter_differential.py",
    "tests/e2e/test_scim2_tester.py",
    "tests/worker/test_multiprocess.py",
)
"""Where the tests of tens of seconds are (real processes, large data, the wheel build),
longest first. They run first, then any other file with a ``slow`` test, then the rest:
with several xdist workers, one long test started last would keep the run going while
the other workers sit idle. Whole files and packages move, in their own order, so module
and package fixtures are still made once."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def path(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    with_slow = {path(item) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        where = path(item)
        for index, prefix in enumerate(LONG_FIRST):
            if where.startswith(prefix):
                return index
        return len(LONG_FIRST) + (0 if where in with_slow else 1)

    items.sort(key=rank)  # stable: the collection order within each rank


@pytest.fixture(scope="session")
def _session_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    made: dict[str, object] = {}
    urls: dict[str, str] = {}

    def get(backend: str) -> Store:
        if backend not in made:
            if backend == "sqlite":
                path = tmp_path_factory.mktemp("sqlite") / "store.db"
                urls[backend] = f"sqlite:///{path}"
            else:
                urls[backend] = create_pg_database()
            made[backend] = open_test_store(urls[backend])
        return made[backend]  # type: ignore[return-value]

    yield {"get": get, "urls": urls}
    for backend, store in made.items():
        store.close()  # type: ignore[attr-defined]
        if backend == "postgresql":
            drop_pg_database(urls[backend])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(backend: str, _session_stores: dict[str, object], clock: FakeClock) -> Store:
    """An empty store on ``backend`` whose clock the test controls."""
    base: Store = _session_stores["get"](backend)  # type: ignore[operator]
    wipe(base)
    return replace(base, clock=clock)


@pytest.fixture
def store_url(backend: str, store: Store, _session_stores: dict[str, object]) -> str:
    """The URL of ``store``'s database, for tests that start other processes on it."""
    return _session_stores["urls"][backend]  # type: ignore[index]


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "trident-scim.db"


@pytest.fixture
def private_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of its own on ``backend`` (schema created), for tests that restore
    over, crash or lock the database: the shared per-session store must never see that."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'private.db'}"
        open_test_store(url).close()
        yield url
        return
    url = create_pg_database()
    open_test_store(url).close()
    try:
        yield url
    finally:
        drop_pg_database(url)
