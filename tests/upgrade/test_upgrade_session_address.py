"""Migration 0008 (where a session is used from) on a 0.1.0 database, on both backends: the
operator's session from before survives with no address, is listed as ``unknown``, keeps
checking, and gets its browser's address from the next check a trusted proxy forwards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import falcon.testing

from api.app import create_app
from store.context import open_store
from store.migrate import upgrade
from store.queries.identity import active_sessions
from tests.support import FakeClock, settings_for
from tests.upgrade.conftest import execute, fixture_facts
from tui.screens.user_records import session_note, session_row

SEEDED_AT = datetime(2026, 1, 5, 9, 0, 0)  # the fixture's clock


def test_a_session_from_before_has_no_address_until_a_trusted_proxy_names_one(
    backend: str, v010_url: str
) -> None:
    assert "0008_session_address" in upgrade(v010_url)
    assert execute(v010_url, 'SELECT "client_address", "user_agent" FROM "control_session"') == [
        (None, None)
    ]
    facts = fixture_facts(backend)
    ada = facts["users"][0]
    clock = FakeClock(SEEDED_AT.replace(minute=5))
    store = open_store(settings_for(v010_url))
    api = replace(store.settings.api, trusted_proxies=("10.0.0.2",))
    store = replace(store, clock=clock, settings=replace(store.settings, api=api))
    try:
        [old] = active_sessions(store, ada)
        assert (old.client_address, old.user_agent) == (None, None)
        now = clock.now.replace(tzinfo=UTC)
        _, cells = session_row(old, now)
        assert cells[-1] == "unknown"
        assert session_note(old).startswith(f"#{old.id} from unknown (never given")

        client = falcon.testing.TestClient(create_app(store))
        checked = client.simulate_get(
            "/auth/session",
            cookies={"control_session": facts["cookie"]},
            headers={"X-Forwarded-For": "203.0.113.7", "User-Agent": "Firefox/128.0"},
            remote_addr="10.0.0.2",
        )
        assert checked.status_code == 200, checked.text
        [seen] = active_sessions(store, ada)
        assert seen.id == old.id
        assert (seen.client_address, seen.user_agent) == ("203.0.113.7", "Firefox/128.0")
        assert session_row(seen, now)[1][-1] == "203.0.113.7"
    finally:
        store.close()
