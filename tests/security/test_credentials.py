"""Credentials under attack: token shape and storage, guessing, revocation, and the wall
between SCIM tokens and Control's browser sessions."""

from __future__ import annotations

import base64
import logging
import re
import secrets
from pathlib import Path

import pytest

from store.context import Store
from store.services.sessions import start_session
from store.services.tokens import issue_token, revoke_token
from tests.security.harness import (
    USER_URN,
    Answer,
    database_text,
    raw_request,
    roomy_limits,
    running_api,
)
from tests.security.process import cli, new_token, write_config

TOKEN_SHAPE = re.compile(r"^tscim_[A-Za-z0-9_-]{43}$")


def _guess() -> str:
    return "tscim_" + secrets.token_urlsafe(32)


def _is_401(answer: Answer) -> bool:
    return answer.status == 401 and answer.is_scim_error()


def test_tokens_are_256_bit_scannable_and_stored_only_as_hashes(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    config = write_config(tmp_path / "config.toml", store_url)
    tokens = [new_token(config, f"IdP {i}") for i in range(3)]
    assert len(set(tokens)) == 3
    for token in tokens:
        assert TOKEN_SHAPE.match(token), token
        assert len(base64.urlsafe_b64decode(token.removeprefix("tscim_") + "=")) == 32
    listing = cli(config, "token", "list", "--json").stdout
    assert "tscim_" in listing  # the display prefix ...
    stored = database_text(store_url)
    for token in tokens:
        assert token not in listing  # ... never the secret
        assert token not in stored and token[10:] not in stored


def test_a_guessing_client_gets_429_and_other_addresses_are_not_affected(store: Store) -> None:
    with running_api(store, rate_limit=roomy_limits(auth_failures_per_minute=5)) as api:
        answers = [api.request("GET", "/scim/v2/Users", token=_guess()) for _ in range(5)]
        assert all(_is_401(a) for a in answers)
        for _ in range(3):
            limited = api.request("GET", "/scim/v2/Users", token=_guess())
            assert limited.status == 429 and limited.is_scim_error(), limited.body
            assert int(limited.header("retry-after") or "0") >= 1
        # The limit is per client address: another address still gets its own allowance.
        assert _is_401(api.request("GET", "/scim/v2/Users", token=_guess(), source="127.0.0.2"))
        assert api.request("GET", "/scim/v2/Users", source="127.0.0.3").status == 200
        # Past the limit the address is refused before any token is looked up: a correct
        # guess would pass otherwise, and the limit would not slow guessing at all.
        assert api.request("GET", "/scim/v2/Users").status == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(store: Store) -> None:
    limits = roomy_limits(auth_failures_per_minute=3)
    with running_api(store, rate_limit=limits, trusted_proxies=("127.0.0.1",)) as api:
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        for _ in range(3):
            assert _is_401(api.request("GET", "/scim/v2/Users", token=_guess(), headers=attacker))
        limited = api.request("GET", "/scim/v2/Users", token=_guess(), headers=attacker)
        assert limited.status == 429
        # Another client behind the same proxy is not affected ...
        other = {"X-Forwarded-For": "198.51.100.7"}
        assert _is_401(api.request("GET", "/scim/v2/Users", token=_guess(), headers=other))
        # ... and a client that is not the proxy cannot pick its address by header.
        for _ in range(3):
            spoof = api.request(
                "GET", "/scim/v2/Users", token=_guess(), headers=other, source="127.0.0.9"
            )
            assert _is_401(spoof)
        assert (
            api.request(
                "GET",
                "/scim/v2/Users",
                token=_guess(),
                source="127.0.0.9",
                headers={"X-Forwarded-For": "10.9.9.9"},
            ).status
            == 429
        )


def test_auth_failures_are_logged_with_the_prefix_only(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_api(store) as api:
        guess, revoked = _guess(), issue_token(api.store, "Old", "operator:test").secret
        revoke_token(api.store, "Old", "operator:test")
        assert _is_401(api.request("GET", "/scim/v2/Users", token=guess))
        assert _is_401(api.request("GET", "/scim/v2/Users", token=revoked))
        assert api.request("GET", "/scim/v2/Users").status == 200
    refused = [r.getMessage() for r in caplog.records if "authentication refused" in r.getMessage()]
    assert any(guess[:10] in line and "unknown" in line for line in refused), refused
    assert any(revoked[:10] in line and "revoked" in line for line in refused), refused
    for secret in (guess, revoked, api.token):
        assert secret[10:] not in caplog.text


def test_a_revoked_token_never_works_again(store: Store) -> None:
    with running_api(store) as api:
        old = issue_token(api.store, "Entra", "operator:test").secret
        assert api.request("GET", "/scim/v2/Users", token=old).status == 200
        revoke_token(api.store, "Entra", "operator:test")
        new = issue_token(  # same name, reissued for its connection
            api.store, "Entra", "operator:test", connection="Entra"
        ).secret
        for method, path in [
            ("GET", "/scim/v2/Users"),
            ("GET", "/scim/v2/ServiceProviderConfig"),
            ("POST", "/scim/v2/Users"),
            ("DELETE", "/scim/v2/Users/x"),
        ] * 5:
            body = (
                {"schemas": [USER_URN], "userName": "z@example.com"} if method == "POST" else None
            )
            assert _is_401(api.request(method, path, body, token=old))
        assert api.request("GET", "/scim/v2/Users", token=new).status == 200
        assert (
            api.request(
                "GET", "/scim/v2/Users?filter=userName%20eq%20%22z@example.com%22", token=new
            ).json["totalResults"]
            == 0
        )


def test_session_and_scim_credentials_never_stand_in_for_each_other(store: Store) -> None:
    with running_api(store) as api:
        body = {"schemas": [USER_URN], "userName": "jane@example.com"}
        assert api.request("POST", "/scim/v2/Users", body).status == 201
        _, cookie = start_session(api.store, "jane@example.com", "operator:test")
        port, scim = api.port, api.token

        def session_check(headers: dict[str, str]) -> int:
            return raw_request(port, "GET", "/auth/session", headers).status

        assert session_check({"Cookie": f"control_session={cookie}"}) == 200  # the real thing
        assert session_check({"Cookie": f"control_session={scim}"}) == 401
        assert session_check({"Authorization": f"Bearer {scim}"}) == 401
        assert session_check({"Authorization": f"Bearer {cookie}"}) == 401
        assert (
            session_check({"Authorization": f"Bearer {scim}", "Cookie": f"other={cookie}"}) == 401
        )
        assert _is_401(api.request("GET", "/scim/v2/Users", token=cookie))
        assert _is_401(
            api.request(
                "GET", "/scim/v2/Users", token=None, headers={"Cookie": f"control_session={cookie}"}
            )
        )
        assert _is_401(
            api.request(
                "GET", "/scim/v2/Users", token=None, headers={"Cookie": f"control_session={scim}"}
            )
        )
