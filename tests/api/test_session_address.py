"""``GET /auth/session`` records where the browser is, through falcon.testing on SQLite and
PostgreSQL: the address only from ``X-Forwarded-For`` sent by a peer in ``[api]
trusted_proxies`` (read from the right like the request log's), the User-Agent only from such a
peer too, never the peer's own address, and never text that is not an IP address."""

from __future__ import annotations

from dataclasses import replace

import falcon.testing
import pytest

from api.app import create_app
from store.context import Store
from store.queries.identity import active_sessions
from store.services.sessions import start_session
from tests.store.identity_factories import make_user
from tests.support import FakeClock

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0"
PROXY = "10.0.0.2"  # nginx, as the API sees it


def _trusting(store: Store, *proxies: str) -> Store:
    api = replace(store.settings.api, trusted_proxies=proxies)
    return replace(store, settings=replace(store.settings, api=api))


@pytest.fixture
def signed_in(api_store: Store) -> tuple[str, str]:
    user_id = make_user(api_store, "jane@example.com")
    _, cookie = start_session(api_store, "jane@example.com", "sso")
    return user_id, cookie


def _check(
    store: Store, clock: FakeClock, cookie: str, peer: str, **headers: str
) -> falcon.testing.Result:
    clock.advance(seconds=5)  # each check is a new request: last seen moves
    client = falcon.testing.TestClient(create_app(store))
    return client.simulate_get(
        "/auth/session",
        headers={"Cookie": f"control_session={cookie}", **headers},
        remote_addr=peer,
    )


def _where(store: Store, user_id: str) -> tuple[str | None, str | None]:
    [session] = active_sessions(store, user_id)
    return session.client_address, session.user_agent


def test_a_trusted_proxy_names_the_browser(
    api_store: Store, clock: FakeClock, signed_in: tuple[str, str]
) -> None:
    user_id, cookie = signed_in
    store = _trusting(api_store, PROXY)
    forwarded = {"X-Forwarded-For": "203.0.113.7", "User-Agent": BROWSER}
    assert _check(store, clock, cookie, PROXY, **forwarded).status_code == 200
    assert _where(store, user_id) == ("203.0.113.7", BROWSER)
    # A browser that prepends its own X-Forwarded-For is still named by the proxy's hop.
    spoofed = {"X-Forwarded-For": "192.0.2.66, 198.51.100.4", "User-Agent": BROWSER}
    assert _check(store, clock, cookie, PROXY, **spoofed).status_code == 200
    assert _where(store, user_id) == ("198.51.100.4", BROWSER)


def test_an_untrusted_peer_names_nobody_and_is_not_the_browser(
    api_store: Store, clock: FakeClock, signed_in: tuple[str, str]
) -> None:
    user_id, cookie = signed_in
    store = _trusting(api_store, PROXY)
    forged = {"X-Forwarded-For": "203.0.113.7", "User-Agent": "curl/8.5.0"}
    result = _check(store, clock, cookie, "10.0.0.99", **forged)
    assert result.status_code == 200  # the check itself does not depend on it
    assert _where(store, user_id) == (None, None)  # neither the header nor the peer's address
    # Nor with no trusted proxy configured at all (the default).
    assert _check(api_store, clock, cookie, "127.0.0.1", **forged).status_code == 200
    assert _where(api_store, user_id) == (None, None)


def test_a_forwarded_value_that_is_not_an_address_is_not_stored(
    api_store: Store, clock: FakeClock, signed_in: tuple[str, str]
) -> None:
    user_id, cookie = signed_in
    store = _trusting(api_store, PROXY)
    _check(store, clock, cookie, PROXY, **{"X-Forwarded-For": "198.51.100.4"})
    for forged in ("203.0.113.7\x1b]52;c;eA==\x07", "fe80::1%eth0", "unknown", "a b"):
        headers = {"X-Forwarded-For": forged, "User-Agent": BROWSER}
        assert _check(store, clock, cookie, PROXY, **headers).status_code == 200
        assert _where(store, user_id) == ("198.51.100.4", BROWSER)  # the last good one stays


def test_a_refused_cookie_records_nothing(
    api_store: Store, clock: FakeClock, signed_in: tuple[str, str]
) -> None:
    user_id, _ = signed_in
    store = _trusting(api_store, PROXY)
    result = _check(store, clock, "tcs_" + "A" * 43, PROXY, **{"X-Forwarded-For": "203.0.113.7"})
    assert result.status_code == 401
    assert _where(store, user_id) == (None, None)
