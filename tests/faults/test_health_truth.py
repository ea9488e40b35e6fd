"""/healthz tells the truth when the database cannot take writes: a full disk (SQLite on a
tiny tmpfs) or a read-only database (SQLite ``query_only``, PostgreSQL
``default_transaction_read_only``) answers 503 naming the reason, SCIM changes get 503 (never a
500), and the log names the cause. When writes work again, so does /healthz."""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import falcon.testing
import psycopg2
import pytest
from pony.orm import db_session

from api.app import create_app
from store.context import Store
from store.services.tokens import issue_token
from tests.api.conftest import USER_URN, Scim, roomy
from tests.support import open_test_store


def _new_user(n: int) -> dict[str, object]:
    return {"schemas": [USER_URN], "userName": f"full{n}@example.com"}


def _health(store: Store) -> falcon.testing.Result:
    return falcon.testing.TestClient(create_app(store)).simulate_get("/healthz")


def _cause_logged(caplog: pytest.LogCaptureFixture, cause: str) -> bool:
    return any(f"database unavailable: {cause}" in r.getMessage() for r in caplog.records)


@contextlib.contextmanager
def _tiny_tmpfs(where: Path) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
                             capture_output=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(directory: Path) -> None:
    """Write until the filesystem refuses: big chunks, then small ones for what is left."""
    for name, size in (("filler", 65536), ("filler2", 512)):
        with contextlib.suppress(OSError), (directory / name).open("wb") as fh:
            while True:
                fh.write(b"\0" * size)
                fh.flush()


def test_full_disk_is_reported_by_healthz_and_named_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _tiny_tmpfs(tmp_path / "tiny") as tiny:
        store = roomy(open_test_store(f"sqlite:///{tiny / 'full.db'}"))
        try:
            scim = Scim(create_app(store), issue_token(store, "Okta", "op", 1_000_000).secret)
            assert scim.post("/Users", _new_user(0)).status_code == 201
            assert _health(store).status_code == 200
            _fill(tiny)
            with caplog.at_level(logging.DEBUG, logger="store.tx"):
                statuses = {scim.post("/Users", _new_user(n)).status_code for n in range(1, 4)}
                health = _health(store)
            assert statuses == {503}
            assert health.status_code == 503 and health.json["database"] == "disk full"
            assert _cause_logged(caplog, "disk full")
            for filler in tiny.glob("filler*"):
                filler.unlink()
            assert scim.post("/Users", _new_user(9)).status_code == 201
            assert _health(store).status_code == 200
        finally:
            store.close()


@contextlib.contextmanager
def _read_only(store: Store, store_url: str) -> Iterator[None]:
    """SQLite: this thread's connection in query_only mode (falcon.testing runs here);
    PostgreSQL: the database's default transactions read-only, for new connections."""
    if store.provider == "sqlite":
        with db_session:
            store.db.get_connection().execute("PRAGMA query_only = ON")
        try:
            yield
        finally:
            with db_session:
                store.db.get_connection().execute("PRAGMA query_only = OFF")
        return
    name = store_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(store_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        store.db.disconnect()  # this thread reconnects with the new default
        yield
    finally:
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        admin.close()
        store.db.disconnect()


def test_read_only_database_is_reported_by_healthz(
    store: Store, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    api_store = roomy(store)
    scim = Scim(create_app(api_store), issue_token(api_store, "Okta", "op", 1_000_000).secret)
    with _read_only(api_store, store_url), caplog.at_level(logging.DEBUG, logger="store.tx"):
        created = scim.post("/Users", _new_user(1))
        health = _health(api_store)
    assert created.status_code == 503, created.text
    assert health.status_code == 503 and health.json["database"] == "read-only"
    assert _cause_logged(caplog, "read-only")
    # Writable again: the next change succeeds and the health check says so.
    assert scim.post("/Users", _new_user(2)).status_code == 201
    assert _health(replace(api_store)).status_code == 200
