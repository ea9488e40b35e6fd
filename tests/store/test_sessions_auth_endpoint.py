"""``GET /auth/session`` through falcon.testing on SQLite and PostgreSQL: the cookie decides,
a SCIM token never does, and a deactivated user's very next request is sent to sign in."""

from __future__ import annotations

import falcon
import falcon.testing
import pytest

from api.resources.auth_session import AuthSessionResource
from store.context import Store
from store.services.lifecycle import deactivate_user
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import start_session
from store.services.tokens import issue_token
from tests.store.identity_factories import make_group, make_user
from tests.support import FakeClock

ADMIN = "operator:alice"


@pytest.fixture
def client(store: Store) -> falcon.testing.TestClient:
    app = falcon.App()
    app.add_route("/auth/session", AuthSessionResource(store))
    return falcon.testing.TestClient(app)


def get(client: falcon.testing.TestClient, cookie: str | None = None, **headers: str) -> object:
    if cookie is not None:
        headers["Cookie"] = f"control_session={cookie}"
    return client.simulate_get("/auth/session", headers=headers)


def test_valid_session_answers_200_with_user_and_roles(
    store: Store, client: falcon.testing.TestClient
) -> None:
    ensure_default_roles(store)
    jane = make_user(store, "jane@example.com", display_name="Jane Doe")
    make_group(store, "Ops", members=(jane,))
    set_mapping(store, "ops", "operator", ADMIN)
    grant_role(store, "jane@example.com", "viewer", ADMIN)
    _, cookie = start_session(store, "jane@example.com", ADMIN)
    result = get(client, cookie)
    assert result.status_code == 200
    assert result.json == {
        "user": "jane@example.com",
        "displayName": "Jane Doe",
        "roles": ["operator", "viewer"],
    }
    assert result.headers["X-Auth-User"] == "jane@example.com"
    assert result.headers["X-Auth-Roles"] == "operator,viewer"
    assert result.headers["Cache-Control"] == "no-store"
    head = client.simulate_head("/auth/session", headers={"Cookie": f"control_session={cookie}"})
    assert head.status_code == 200 and head.headers["X-Auth-User"] == "jane@example.com"
    assert head.content == b""


def test_no_or_bad_cookie_answers_401_with_the_sign_in_location(
    store: Store, client: falcon.testing.TestClient
) -> None:
    for cookie in (None, "", "tcs_" + "A" * 43, "garbage"):
        result = get(client, cookie)
        assert result.status_code == 401
        assert result.headers["Location"] == "/sso/login"
        assert result.headers["Cache-Control"] == "no-store"
        assert result.json == {"error": "not signed in", "signIn": "/sso/login"}
        assert "X-Auth-User" not in result.headers


def test_a_scim_token_is_never_a_session(store: Store, client: falcon.testing.TestClient) -> None:
    secret = issue_token(store, "Okta", ADMIN).secret
    make_user(store, "jane")
    assert get(client, Authorization=f"Bearer {secret}").status_code == 401
    assert get(client, secret).status_code == 401  # not even in the cookie
    _, cookie = start_session(store, "jane", ADMIN)
    both = get(client, cookie, Authorization=f"Bearer {secret}")
    assert both.status_code == 200 and both.json["user"] == "jane"  # header ignored


def test_deactivated_users_next_request_goes_to_sign_in(
    store: Store, client: falcon.testing.TestClient
) -> None:
    jane = make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    assert get(client, cookie).status_code == 200
    deactivate_user(store, jane, "token:Okta", "IdP set active=false")
    result = get(client, cookie)
    assert result.status_code == 401 and result.json["error"] == "session ended"
    assert result.headers["Location"] == "/sso/login"


def test_expired_session_and_non_ascii_user_name(
    store: Store, client: falcon.testing.TestClient, clock: FakeClock
) -> None:
    make_user(store, "jürgen@example.de")
    _, cookie = start_session(store, "JÜRGEN@example.de", ADMIN)
    result = get(client, cookie)
    assert result.status_code == 200 and result.json["user"] == "jürgen@example.de"
    assert result.headers["X-Auth-User"] == "j%C3%BCrgen@example.de"  # latin-1 safe header
    clock.advance(minutes=61)
    idle = get(client, cookie)
    assert idle.status_code == 401 and idle.json["error"] == "session expired after inactivity"


def test_the_first_live_cookie_of_several_wins(
    store: Store, client: falcon.testing.TestClient
) -> None:
    make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    header = f"control_session=tcs_{'B' * 43}; control_session={cookie}"
    assert client.simulate_get("/auth/session", headers={"Cookie": header}).status_code == 200
