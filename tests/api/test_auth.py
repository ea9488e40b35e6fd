"""Bearer authentication, rate limits, the audit actor and the request log."""

from __future__ import annotations

from dataclasses import replace

import falcon
import pytest

from api.activity import ActivityRecorder
from api.app import create_app
from store.config import RateLimitSettings
from store.context import Store
from store.queries.activity import recent_activity
from store.queries.identity import audit_events
from store.services.tokens import issue_token, revoke_token
from tests.api.conftest import USER_URN, Scim, assert_scim_error
from tests.support import FakeClock

PATHS = ["/Users", "/Groups", "/Users/abc", "/ServiceProviderConfig", "/Schemas",
         "/ResourceTypes", "/Nope"]  # fmt: skip


def _assert_401(result: falcon.testing.Result) -> None:
    body = assert_scim_error(result, 401)
    assert body["detail"].startswith("Invalid or revoked token")
    assert result.headers["www-authenticate"].startswith('Bearer realm="scim"')


@pytest.mark.parametrize("path", PATHS)
def test_missing_token_is_401(scim: Scim, path: str) -> None:
    result = scim.get(path, token=None)
    _assert_401(result)
    assert result.headers["www-authenticate"] == 'Bearer realm="scim"'


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Bearer short", "Token tscim_" + "a" * 43,
     "Bearer " + "x" * 5000, "Bearer tscim_\x01" + "a" * 40],
)  # fmt: skip
def test_malformed_authorization_is_401(scim: Scim, header: str) -> None:
    result = scim.get("/Users", token=None, headers={"Authorization": header})
    _assert_401(result)
    assert 'error="invalid_token"' in result.headers["www-authenticate"]


def test_unknown_token_is_401(scim: Scim) -> None:
    _assert_401(scim.get("/Users", token="tscim_" + "A" * 43))
    _assert_401(scim.get("/Users", token="ghp_" + "A" * 36))


def test_revoked_token_fails_on_its_very_next_request(scim: Scim, api_store: Store) -> None:
    assert scim.get("/Users").status_code == 200
    revoke_token(api_store, "Okta SCIM", "operator:test")
    _assert_401(scim.get("/Users"))
    _assert_401(scim.post("/Users", {"userName": "x@example.com"}))


def test_case_insensitive_bearer_scheme(scim: Scim) -> None:
    result = scim.get("/Users", token=None, headers={"Authorization": f"bearer {scim.token}"})
    assert result.status_code == 200


@pytest.mark.parametrize(
    "separator", ["\x1f", "\x1c", "\x0b", "\x0c", "\x85", "\u00a0", "\u2003", "\u3000"]
)
def test_a_valid_token_behind_a_separator_other_than_space_or_tab_is_refused(
    scim: Scim, separator: str
) -> None:
    """The credentials follow the scheme after spaces (RFC 7235; a tab is tolerated): a control
    character or a Unicode space is no separator, even in front of a valid token."""
    header = f"Bearer{separator}{scim.token}"
    result = scim.get("/Users", token=None, headers={"Authorization": header})
    _assert_401(result)
    assert 'error="invalid_token"' in result.headers["www-authenticate"]
    tolerated = scim.get("/Users", token=None, headers={"Authorization": f"Bearer \t {scim.token}"})
    assert tolerated.status_code == 200


def test_auth_session_and_healthz_do_not_take_scim_tokens(scim: Scim) -> None:
    assert scim.get("/healthz", token=None).status_code == 200
    result = scim.get("/auth/session")  # a SCIM token is not a session
    assert result.status_code == 401


def test_actor_is_the_token_name(scim: Scim, api_store: Store) -> None:
    user = scim.create_user("jane@example.com")
    events = audit_events(api_store, "user", user["id"])
    assert events and {e.actor for e in events} == {"token:Okta SCIM"}


def _limited_store(store: Store, per_minute: int, burst: int, clock: FakeClock) -> Store:
    limits = RateLimitSettings(requests_per_minute=per_minute, burst=burst,
                               auth_failures_per_minute=5)  # fmt: skip
    return replace(store, settings=replace(store.settings, rate_limit=limits), clock=clock)


def test_rate_limit_is_429_with_retry_after(store: Store, clock: FakeClock) -> None:
    limited = _limited_store(store, per_minute=60, burst=2, clock=clock)
    secret = issue_token(limited, "Entra", "operator:test").secret
    scim = Scim(create_app(limited), secret)
    statuses = [scim.get("/Users").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    result = scim.get("/Users")
    body = assert_scim_error(result, 429)
    assert "Retry-After" in body["detail"] or body["detail"]
    retry = result.headers["retry-after"]
    assert retry.isdigit() and int(retry) >= 1
    clock.advance(int(retry))
    assert scim.get("/Users").status_code == 200


def test_per_token_rate_limit_overrides_the_default(store: Store, clock: FakeClock) -> None:
    limited = _limited_store(store, per_minute=60, burst=0, clock=clock)
    slow = Scim(create_app(limited), issue_token(limited, "slow", "op", rate_limit=1).secret)
    fast = Scim(create_app(limited), issue_token(limited, "fast", "op").secret)
    assert slow.get("/Users").status_code == 200
    assert slow.get("/Users").status_code == 429
    assert int(slow.get("/Users").headers["retry-after"]) >= 59
    assert fast.get("/Users").status_code == 200


def test_guessing_tokens_gets_429(store: Store, clock: FakeClock) -> None:
    limited = _limited_store(store, per_minute=60, burst=10, clock=clock)
    guesser = Scim(create_app(limited), "tscim_" + "B" * 43)
    statuses = [guesser.get("/Users").status_code for _ in range(12)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    last = guesser.get("/Users")
    assert_scim_error(last, 429)
    assert int(last.headers["retry-after"]) >= 1


def test_request_log_records_requests_without_secrets(api_store: Store, token: str) -> None:
    recorder = ActivityRecorder(api_store, flush_seconds=3600)
    scim = Scim(create_app(api_store, recorder=recorder), token)
    scim.get("/Users", params={"filter": 'userName eq "jane@example.com"'})
    scim.get("/Users", params={"filter": 'title eq "x"'})
    scim.post(
        "/Users",
        {"schemas": [USER_URN], "userName": "bob@example.com", "password": "hunter2-secret"},
    )
    scim.get("/Users", token="tscim_" + "C" * 43)
    scim.get("/healthz", token=None)
    assert recorder.pending() == 4
    recorder.close()
    rows = recent_activity(api_store, limit=50, errors_first=False)
    assert len(rows) == 4
    by_status = {r.status: r for r in rows}
    assert by_status[400].scim_type == "invalidFilter"
    assert by_status[400].query == 'title eq "x"'
    assert by_status[201].method == "POST" and by_status[201].path == "/scim/v2/Users"
    assert by_status[201].token_name == "Okta SCIM" and by_status[201].token_id is not None
    assert by_status[201].user_agent == "Okta SCIM Client 1.0.0"
    assert by_status[401].token_id is None and "unknown" in by_status[401].detail
    # A refused token is named by its display prefix only, so an operator can tell which one.
    assert by_status[401].token_name == "unknown tscim_CCCC…"
    assert all(r.latency_ms >= 0 and r.client for r in rows)
    flat = repr(rows)
    assert token not in flat and "hunter2" not in flat
    assert token[:11] not in flat and "tscim_CCCCC" not in flat  # never more than the prefix


def test_request_log_names_a_revoked_token_and_a_missing_one(api_store: Store, token: str) -> None:
    recorder = ActivityRecorder(api_store, flush_seconds=3600)
    scim = Scim(create_app(api_store, recorder=recorder), token)
    revoke_token(api_store, "Okta SCIM", "operator:test")
    assert scim.get("/Users").status_code == 401
    assert scim.get("/Users", token=None).status_code == 401
    recorder.close()
    names = sorted(r.token_name for r in recent_activity(api_store, errors_first=False))
    assert names == ["(no token)", "revoked Okta SCIM"]


def test_failed_logins_are_counted_per_client_behind_a_trusted_proxy(
    store: Store, clock: FakeClock
) -> None:
    limited = _limited_store(store, per_minute=60, burst=10, clock=clock)
    proxied = replace(
        limited,
        settings=replace(
            limited.settings, api=replace(limited.settings.api, trusted_proxies=("127.0.0.1",))
        ),
    )
    guesser = Scim(create_app(proxied), "tscim_" + "B" * 43)
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    statuses = [guesser.get("/Users", headers=attacker).status_code for _ in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    # Another client behind the same proxy is not punished for the attacker's guesses.
    other = guesser.get("/Users", headers={"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code == 401
    # A spoofed left-most hop does not let the attacker escape its own bucket.
    spoofed = guesser.get("/Users", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert spoofed.status_code == 429


def test_behind_an_unlisted_proxy_a_locked_address_is_explained(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Two IdPs behind a proxy that is not in trusted_proxies share its address: one's
    failures lock the other out. The valid token gets 429 with Retry-After and a detail that
    says why, and the log names the address, the way out and the proxy setting."""
    limited = _limited_store(store, per_minute=60, burst=10, clock=clock)
    app = create_app(limited)
    valid = Scim(app, issue_token(limited, "Okta", "operator:test").secret)
    stale = Scim(app, "tscim_" + "C" * 43)
    behind = {"X-Forwarded-For": "198.51.100.20"}
    with caplog.at_level("WARNING"):
        assert [stale.get("/Users", headers=behind).status_code for _ in range(5)] == [401] * 5
    locked = [r.getMessage() for r in caplog.records if "is past its limit" in r.getMessage()]
    assert len(locked) == 1 and locked[0].startswith("client address 127.0.0.1 is past its limit")
    assert "token unlock 127.0.0.1" in locked[0]
    hints = [r.getMessage() for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(hints) == 1 and "not in [api] trusted_proxies" in hints[0]
    refused = valid.get("/Users", headers={"X-Forwarded-For": "198.51.100.21"})
    body = assert_scim_error(refused, 429)
    assert "valid tokens included" in body["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    clock.advance(int(refused.headers["retry-after"]))
    assert valid.get("/Users").status_code == 200
