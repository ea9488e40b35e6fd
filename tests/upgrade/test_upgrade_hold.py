"""Migration 0003 (the operator hold) on a 0.1.0 database, on both backends: every existing
user comes out without a hold, and a hold placed after the upgrade sticks against the IdP."""

from __future__ import annotations

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
