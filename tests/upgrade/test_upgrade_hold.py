"""Migration 0003 (the operator hold) on a 0.1.0 database, on both backends: every existing
user comes out without a hold, and a hold placed after the upgrade sticks against the IdP."""

from __future__ import annotations

from datetime import datetime

from store.context import open_store
from store.migrate import upgrade
from store.queries.identity import user_detail
from store.records import UserInput
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.users import replace_user
from tests.support import settings_for
from tests.upgrade.conftest import execute, fixture_facts


def test_upgrade_adds_the_operator_hold(backend: str, v010_url: str) -> None:
    assert "0003_operator_hold" in upgrade(v010_url)
    held = execute(v010_url, 'SELECT COUNT(*) FROM "scim_user" WHERE "held_at" IS NOT NULL')
    assert held == [(0,)]
    ada = fixture_facts(backend)["users"][0]
    store = open_store(settings_for(v010_url))
    try:
        assert user_detail(store, ada, by_id=True).hold is None
        assert deactivate_user(store, ada, "operator:test", "upgrade check")
        replace_user(store, ada, UserInput("ada@example.com", {}, active=True), "token:Okta")
        detail = user_detail(store, ada, by_id=True)
        assert not detail.user.active
        assert detail.hold is not None and detail.hold.idp_active is True
        assert reactivate_user(store, ada, "operator:test")
        assert user_detail(store, ada, by_id=True).user.active
    finally:
        store.close()


def _upgrade_until(url: str, last: str) -> None:
    """Adopt the 0.1.0 database and apply the migrations up to ``last`` only."""
    from yoyo.migrations import MigrationList

    from store.db import parse_database_url
    from store.migrate import BASELINE, _backend, _migrations

    backend = _backend(parse_database_url(url), 10_000)
    try:
        backend.create_lock_table()
        with backend.lock():
            migrations = _migrations()
            backend.mark_migrations(MigrationList([m for m in migrations if m.id == BASELINE]))
            wanted = [m for m in migrations if BASELINE < m.id <= last]
            backend.apply_migrations(backend.to_apply(MigrationList(wanted)))
    finally:
        backend.connection.close()


def test_a_hold_placed_before_0005_survives_its_table_rebuild(backend: str, v010_url: str) -> None:
    """0005 rebuilds ``scim_user`` on SQLite: the hold columns of 0003 keep their values."""
    _upgrade_until(v010_url, "0004_request_log_hits")
    ada = fixture_facts(backend)["users"][0]
    execute(
        v010_url,
        "UPDATE scim_user SET active = FALSE, held_at = '2026-01-02 03:04:05', "
        f"held_by = 'operator:test', hold_reason = 'left', idp_active = TRUE WHERE id = '{ada}'",
    )
    assert "0005_external_id_not_unique" in upgrade(v010_url)
    store = open_store(settings_for(v010_url))
    try:
        detail = user_detail(store, ada, by_id=True)
        assert not detail.user.active
        assert detail.hold is not None and detail.hold.idp_active is True
        assert (detail.hold.by, detail.hold.reason) == ("operator:test", "left")
        assert detail.hold.since.replace(tzinfo=None) == datetime(2026, 1, 2, 3, 4, 5)
    finally:
        store.close()
