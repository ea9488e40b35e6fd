"""Session timeouts to the second, and the cookie list ``/auth/session`` looks at: the idle
timeout counts from the last request at every setting, and junk cookies in front of the real
one never sign a user out. Through falcon.testing on SQLite and PostgreSQL, clock injected."""

from __future__ import annotations

from dataclasses import replace

import falcon
import falcon.testing
import pytest

from api.resources.auth_session import AuthSessionResource
from store.context import Store
from store.services.lifecycle import deactivate_user
from store.services.sessions import MAX_SESSION_COOKIES, check_session, start_session
from tests.store.identity_factories import make_user
from tests.support import FakeClock

ADMIN = "operator:alice"
JUNK_SECRET = "tcs_" + "A" * 43  # well formed, belongs to no session


def _with_idle(store: Store, minutes: int) -> Store:
    sessions = replace(store.settings.sessions, idle_timeout_minutes=minutes)
    return replace(store, settings=replace(store.settings, sessions=sessions))


def _client(store: Store) -> falcon.testing.TestClient:
    app = falcon.App()
    app.add_route("/auth/session", AuthSessionResource(store))
    return falcon.testing.TestClient(app)


def _ask(client: falcon.testing.TestClient, *cookies: str) -> int:
    header = "; ".join(f"control_session={c}" for c in cookies)
    return client.simulate_get("/auth/session", headers={"Cookie": header}).status_code


@pytest.mark.parametrize("minutes", [1, 2, 5, 60])
@pytest.mark.parametrize("first_use", [1, 35, 59])
def test_idle_timeout_counts_from_the_last_request_to_the_second(
    store: Store, clock: FakeClock, minutes: int, first_use: int
) -> None:
    idle = minutes * 60
    store = _with_idle(store, minutes)
    client = _client(store)
    make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    if first_use < idle:
        clock.advance(first_use)
        assert _ask(client, cookie) == 200
    for _ in range(3):  # kept alive by a request one second before each deadline
        clock.advance(idle - 1)
        assert _ask(client, cookie) == 200
    clock.advance(idle - 1)
    assert check_session(store, cookie).valid
    clock.advance(idle)  # exactly the idle timeout since the last request
    assert check_session(store, cookie).reason == "idle"
    assert _ask(client, cookie) == 401
    clock.advance(1)
    assert _ask(client, cookie) == 401  # no resurrection


@pytest.mark.parametrize(
    "steps",
    [
        # 70 s after sign-in, 35 s after the last request: kept (the case once refused)
        [(35, True), (35, True), (59, True), (60, False)],
        # a request that read the clock earlier, checked later, never moves last_seen back
        [(50, True), (-30, True), (30 + 59, True), (60, False)],
    ],
    ids=["35s", "late-request"],
)
def test_one_minute_sessions_count_from_the_latest_request(
    store: Store, clock: FakeClock, steps: list[tuple[int, bool]]
) -> None:
    store = _with_idle(store, 1)
    make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    for seconds, valid in steps:
        clock.advance(seconds)
        assert check_session(store, cookie).valid is valid, (seconds, valid)


@pytest.mark.parametrize("junk", ["garbage", JUNK_SECRET, "tcs_short", ""])
def test_junk_cookies_in_front_of_the_real_one_do_not_sign_out(store: Store, junk: str) -> None:
    client = _client(store)
    make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    assert _ask(client, junk, junk, junk, cookie) == 200
    assert _ask(client, *[junk] * (MAX_SESSION_COOKIES - 1), cookie) == 200
    assert _ask(client, *[junk] * MAX_SESSION_COOKIES, cookie) == 401  # only 20 are looked at


def test_an_ended_session_of_someone_else_in_front_does_not_sign_out(store: Store) -> None:
    client = _client(store)
    make_user(store, "jane")
    bob = make_user(store, "bob")
    _, old = start_session(store, "bob", ADMIN)
    deactivate_user(store, bob, ADMIN)
    _, cookie = start_session(store, "jane", ADMIN)
    assert _ask(client, old, JUNK_SECRET, "x", cookie) == 200
    result = client.simulate_get("/auth/session", headers={"Cookie": f"control_session={old}"})
    assert result.status_code == 401 and result.json["error"] == "session ended"
    assert _ask(client, JUNK_SECRET, old) == 401
