"""``GET /metrics`` through the real app on a real store (SQLite and PostgreSQL): request,
authentication, rate-limit and session-check counters from this process, worker health,
the lease holder, tokens' Last Used and deactivations from the database, and the allow list
on the connection's own peer address."""

from __future__ import annotations

from dataclasses import replace

import falcon
import falcon.testing
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from store.config import MetricsSettings, RateLimitSettings
from store.context import Store
from store.services.jobs import finish_run, start_run
from store.services.lease import acquire_lease
from store.services.sessions import start_session
from store.services.tokens import issue_token
from tests.api.conftest import Scim, patch_op
from tests.support import FakeClock

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(app: falcon.App, remote_addr: str = "127.0.0.1") -> Samples:
    result = falcon.testing.TestClient(app).simulate_get("/metrics", remote_addr=remote_addr)
    assert result.status_code == 200, result.text
    assert result.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(result.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def named(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in samples if n == name]


def test_metrics_report_requests_sessions_worker_tokens_and_deactivations(
    scim: Scim, app: falcon.App, api_store: Store, clock: FakeClock
) -> None:
    user = scim.create_user("jane@example.com")
    assert scim.get(f"/Users/{user['id']}").status_code == 200
    assert scim.get("/Users/not-there").status_code == 404
    assert scim.get("/Users", token="tscim_" + "x" * 43).status_code == 401
    _, cookie = start_session(api_store, "jane@example.com", "operator:test")
    sessions = falcon.testing.TestClient(app)
    assert (
        sessions.simulate_get("/auth/session", cookies={"control_session": cookie}).status_code
        == 200
    )
    deactivate = patch_op({"op": "replace", "path": "active", "value": False})
    assert scim.patch(f"/Users/{user['id']}", deactivate).status_code == 200
    assert (
        sessions.simulate_get("/auth/session", cookies={"control_session": cookie}).status_code
        == 401
    )
    assert sessions.simulate_get("/auth/session").status_code == 401
    ok_run = start_run(api_store, "session_expiry", "host-a:1:abc")
    clock.advance(2)
    finish_run(api_store, ok_run, "ok", 3, "3 sessions ended")
    failed = start_run(api_store, "reconcile_roles", "host-a:1:abc")
    finish_run(api_store, failed, "error", error="database went away")
    clock.advance(3600)
    assert acquire_lease(api_store, "worker", "host-a:1:abc", 120)

    samples = scrape(app)

    item = "/scim/v2/Users/{user_id}"
    assert value(samples, "trident_scim_http_requests_total", method="GET", route=item,
                 status="200", connection="Okta SCIM") == 1  # fmt: skip
    assert value(samples, "trident_scim_http_requests_total", method="GET", route=item,
                 status="404", connection="Okta SCIM") == 1  # fmt: skip
    assert value(samples, "trident_scim_http_request_duration_seconds_count", method="PATCH",
                 route=item, connection="Okta SCIM") == 1  # fmt: skip
    assert all(user["id"] not in label_value and "not-there" not in label_value
               for (_, labels) in samples for _, label_value in labels)  # fmt: skip
    assert value(samples, "trident_scim_auth_failures_total", reason="unknown") == 1
    assert value(samples, "trident_scim_session_checks_total", result="ok") == 1
    assert value(samples, "trident_scim_session_checks_total", result="ended") == 1
    assert value(samples, "trident_scim_session_checks_total", result="missing") == 1
    assert value(samples, "trident_scim_worker_job_last_outcome", worker_job="session_expiry",
                 outcome="ok") == 1  # fmt: skip
    assert (
        value(samples, "trident_scim_worker_job_last_duration_seconds", worker_job="session_expiry")
        == 2
    )
    assert value(samples, "trident_scim_worker_job_last_success_timestamp_seconds",
                 worker_job="reconcile_roles") == 0  # fmt: skip
    assert value(samples, "trident_scim_worker_job_last_failure_timestamp_seconds",
                 worker_job="reconcile_roles") > 0  # type: ignore[operator]  # fmt: skip
    assert (
        value(
            samples, "trident_scim_worker_job_runs", worker_job="reconcile_roles", outcome="error"
        )
        == 1
    )
    assert value(samples, "trident_scim_worker_lease_holder", holder="host-a:1:abc") == 1
    assert (
        value(samples, "trident_scim_token_last_used_age_seconds", connection="Okta SCIM") >= 3600
    )  # type: ignore[operator]
    assert (
        value(samples, "trident_scim_deactivations_total", source="idp", connection="Okta SCIM")
        == 1
    )
    assert value(samples, "trident_scim_database_up") == 1
    assert all(name.startswith("trident_scim_") for (name, _) in samples)


def test_rate_limit_refusals_are_counted_per_connection(store: Store) -> None:
    limited = replace(store.settings, rate_limit=RateLimitSettings(requests_per_minute=60, burst=1))
    store = replace(store, settings=limited)
    app = create_app(store)
    client = Scim(app, issue_token(store, "JumpCloud", "operator:test").secret)
    statuses = [client.get("/Users").status_code for _ in range(5)]
    assert 429 in statuses
    samples = scrape(app)
    assert value(samples, "trident_scim_rate_limited_total", limit="token",
                 connection="JumpCloud") == statuses.count(429)  # fmt: skip
    assert value(samples, "trident_scim_http_requests_total", method="GET", route="/scim/v2/Users",
                 status="429", connection="JumpCloud") == statuses.count(429)  # fmt: skip


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_read_metrics_by_default(app: falcon.App, peer: str) -> None:
    assert named(scrape(app, peer), "trident_scim_database_up")


@pytest.mark.parametrize("peer", ["10.0.0.5", "192.168.1.1", "2001:db8::1", "not-an-ip"])
def test_other_addresses_are_refused_without_metrics(app: falcon.App, peer: str) -> None:
    result = falcon.testing.TestClient(app).simulate_get("/metrics", remote_addr=peer)
    assert result.status_code == 403
    assert "trident_scim_" not in result.text


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded"])
def test_a_request_that_came_through_a_proxy_is_refused(app: falcon.App, header: str) -> None:
    result = falcon.testing.TestClient(app).simulate_get(
        "/metrics", remote_addr="127.0.0.1", headers={header: "127.0.0.1"}
    )
    assert result.status_code == 403 and "trident_scim_" not in result.text


def test_the_allow_list_takes_networks_and_can_drop_loopback(api_store: Store) -> None:
    settings = replace(api_store.settings, metrics=MetricsSettings(allow=("10.20.0.0/16",)))
    app = create_app(replace(api_store, settings=settings))
    assert named(scrape(app, "10.20.3.4"), "trident_scim_database_up")
    result = falcon.testing.TestClient(app).simulate_get("/metrics", remote_addr="127.0.0.1")
    assert result.status_code == 403


def test_metrics_can_be_switched_off(api_store: Store) -> None:
    settings = replace(api_store.settings, metrics=MetricsSettings(enabled=False))
    app = create_app(replace(api_store, settings=settings))
    assert falcon.testing.TestClient(app).simulate_get("/metrics").status_code == 404
