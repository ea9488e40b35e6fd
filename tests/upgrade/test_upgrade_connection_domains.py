"""Migration 0012 (userName domains of a connection) on a database upgraded from 0.1.0, on
both backends: every connection comes out with no domains, so its token creates any
userName as before; an operator can then limit it, and its users from before are kept."""

from __future__ import annotations

from dataclasses import replace

import falcon.testing

from api.app import create_app
from store.config import RateLimitSettings
from store.context import open_store
from store.migrate import upgrade
from store.services.connections import list_connections, set_connection_domains
from tests.support import settings_for
from tests.upgrade.conftest import execute, fixture_facts

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_connections_have_no_domains_after_the_upgrade_until_an_operator_sets_them(
    backend: str, v010_url: str
) -> None:
    assert "0012_connection_domains" in upgrade(v010_url)
    rows = execute(v010_url, 'SELECT "name", "domains" FROM "scim_connection"')
    assert rows and all(domains is None for _, domains in rows)
    store = open_store(settings_for(v010_url))
    limits = RateLimitSettings(requests_per_minute=60, burst=1_000_000)
    store = replace(store, settings=replace(store.settings, rate_limit=limits))
    try:
        connections = list_connections(store)
        assert connections and all(c.domains == () for c in connections)
        [owner] = [c for c in connections if c.tokens]
        client = falcon.testing.TestClient(create_app(store))
        bearer = {"Authorization": f"Bearer {fixture_facts(backend)['token']}"}

        def post(user_name: str) -> falcon.testing.Result:
            body = {"schemas": [USER], "userName": user_name}
            return client.simulate_post("/scim/v2/Users", json=body, headers=bearer)

        assert post("anyone@anywhere.example").status_code == 201
        _, outside = set_connection_domains(store, owner.name, "corp.example", "operator:test")
        assert outside == owner.user_count + 1  # the fixture's users and the one just made
        refused = post("dana@elsewhere.example")
        assert (refused.status_code, refused.json["scimType"]) == (400, "invalidValue")
        assert post("dana@corp.example").status_code == 201
    finally:
        store.close()
