"""Each worker job through ``run_job`` on a real store: it repairs its drift, records the
run, does nothing on a second run; leases keep it to one process at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from store.context import Store
from store.queries.jobs import job_runs, worker_health
from store.services.jobs import start_run
from store.services.lease import acquire_lease, current_leader
from store.services.sessions import check_session, start_session
from tests.store.identity_factories import make_group, make_user, roles_of
from tests.support import FakeClock
from tests.worker.factories import (
    drop_idp_rows,
    log_request,
    make_mapping,
    make_token,
    remove_mapping,
    token_row,
)
from worker.jobs import JOBS, JobContext, JobSpec, heartbeat, release_all, run_job


def _ctx(store: Store, holder: str = "host:1:aaaaaa") -> JobContext:
    return JobContext(store=store, holder=holder, settings=store.settings)


def _run(ctx: JobContext, name: str) -> tuple[str, int, str]:
    run = run_job(ctx, name)
    assert run is not None, f"{name} did not run"
    return run.outcome, run.changed, run.summary


def test_reconcile_job_repairs_drift_then_changes_nothing(store: Store) -> None:
    alice = make_user(store, "alice@corp")
    make_group(store, "Ops", members=(alice,))
    make_mapping(store, "Ops", "operator")
    ctx = _ctx(store)
    assert _run(ctx, "reconcile_roles")[:2] == ("ok", 1)
    assert roles_of(store, alice) == {("operator", "idp")}
    assert _run(ctx, "reconcile_roles")[:2] == ("ok", 0)


def test_mapping_watch_reconciles_when_the_mapping_changes(store: Store) -> None:
    alice = make_user(store, "alice@corp")
    make_group(store, "Ops", members=(alice,))
    ctx = _ctx(store)
    outcome, _, summary = _run(ctx, "mapping_watch")  # nothing reconciled here yet
    assert outcome == "ok" and "reconciliation ok" in summary
    assert _run(ctx, "mapping_watch")[2] == "mapping unchanged"
    make_mapping(store, "ops", "viewer")  # behind the services' back: only the watch sees it
    assert "reconciliation ok: 1 IdP" in _run(ctx, "mapping_watch")[2]
    assert roles_of(store, alice) == {("viewer", "idp")}
    assert _run(ctx, "mapping_watch")[2] == "mapping unchanged"
    remove_mapping(store, "OPS", "viewer")
    assert "reconciliation ok: 1 IdP" in _run(ctx, "mapping_watch")[2]
    assert roles_of(store, alice) == set()
    reconciles = [r for r in job_runs(store, job="reconcile_roles")]
    assert len(reconciles) == 3 and all(r.outcome == "ok" for r in reconciles)


def test_mapping_watch_does_not_reconcile_for_an_unrelated_drift(store: Store) -> None:
    make_mapping(store, "Ops", "viewer")
    alice = make_user(store, "alice@corp")
    make_group(store, "Ops", members=(alice,))
    ctx = _ctx(store)
    _run(ctx, "reconcile_roles")
    drop_idp_rows(store, alice)  # not a mapping change: the periodic reconcile repairs it
    assert _run(ctx, "mapping_watch")[2] == "mapping unchanged"
    assert _run(ctx, "reconcile_roles")[1] == 1


def test_expire_sessions_job_ends_idle_sessions_once(store: Store, clock: FakeClock) -> None:
    make_user(store, "alice@corp")
    _, cookie = start_session(store, "alice@corp", "sso")
    ctx = _ctx(store)
    assert _run(ctx, "expire_sessions")[1] == 0
    clock.advance(minutes=store.settings.sessions.idle_timeout_minutes + 1)
    assert _run(ctx, "expire_sessions")[:2] == ("ok", 1)
    assert _run(ctx, "expire_sessions")[1] == 0
    assert not check_session(store, cookie).valid


def test_update_last_used_job_then_nothing(store: Store, clock: FakeClock) -> None:
    okta = make_token(store, "Okta SCIM")
    log_request(store, clock.now + timedelta(seconds=3), token_id=okta)
    ctx = _ctx(store)
    assert _run(ctx, "update_last_used")[:2] == ("ok", 1)
    assert token_row(store, okta)[0] == clock.now + timedelta(seconds=3)
    assert _run(ctx, "update_last_used")[1] == 0


def test_flag_stale_tokens_job(store: Store, clock: FakeClock) -> None:
    okta = make_token(store, "Okta SCIM")
    ctx = _ctx(store)
    assert _run(ctx, "flag_stale_tokens")[1] == 0
    clock.advance(hours=store.settings.worker.stale_after_hours + 1)
    assert _run(ctx, "flag_stale_tokens")[1] == 1
    assert token_row(store, okta)[1] is not None
    assert _run(ctx, "flag_stale_tokens")[1] == 0


def test_prune_job_drops_old_log_entries_and_old_run_records(
    store: Store, clock: FakeClock
) -> None:
    log_request(store, clock.now - timedelta(days=31))
    log_request(store, clock.now - timedelta(days=1))
    ctx = _ctx(store)
    _run(ctx, "update_last_used")  # a run record that is old a week later
    clock.advance(days=8)
    assert _run(ctx, "prune_activity")[:2] == ("ok", 2)
    assert _run(ctx, "prune_activity")[1] == 0
    assert [r.job for r in job_runs(store)] == ["prune_activity", "prune_activity"]


def test_a_failing_job_is_recorded_and_runs_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext) -> tuple[int, str]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("directory unreachable")
        return 2, "recovered"

    monkeypatch.setitem(JOBS, "flaky", JobSpec("flaky", flaky, "reconcile_seconds", "test"))
    ctx = _ctx(store)
    failed = run_job(ctx, "flaky")
    assert failed is not None and failed.outcome == "error"
    assert failed.error == "RuntimeError: directory unreachable" and failed.finished
    again = run_job(ctx, "flaky")
    assert again is not None and (again.outcome, again.changed) == ("ok", 2)
    health = {h.job: h for h in worker_health(store, jobs=["flaky"]).jobs}["flaky"]
    assert health.last_run is not None and health.last_run.outcome == "ok"
    assert health.last_error is not None and health.last_error.id == failed.id
    assert ctx.held_leases() == [] and current_leader(store, "job:flaky") is None


def test_only_the_leader_runs_and_a_follower_takes_over_after_the_ttl(
    store: Store, clock: FakeClock
) -> None:
    a, b = _ctx(store, "host-a:1:aaaaaa"), _ctx(store, "host-b:2:bbbbbb")
    assert heartbeat(a) and not heartbeat(b)
    assert run_job(b, "update_last_used") is None  # follower: skipped, no record
    assert run_job(a, "update_last_used") is not None
    clock.advance(a.ttl - 1)
    assert run_job(b, "update_last_used") is None  # a's run renewed its lease
    clock.advance(a.ttl + 1)  # a is gone (no heartbeat): its lease expired
    run = run_job(b, "update_last_used")
    assert run is not None and run.holder == "host-b:2:bbbbbb"
    assert current_leader(store, "worker") == "host-b:2:bbbbbb"
    assert [r.holder for r in job_runs(store)] == ["host-b:2:bbbbbb", "host-a:1:aaaaaa"]


def test_a_job_running_elsewhere_is_not_started_twice(store: Store) -> None:
    a, b = _ctx(store, "host-a:1:aaaaaa"), _ctx(store, "host-b:2:bbbbbb")
    assert acquire_lease(store, "job:reconcile_roles", a.holder, a.ttl)
    assert run_job(b, "reconcile_roles", require_leader=False) is None
    assert job_runs(store) == []


def test_a_run_left_by_a_dead_process_is_marked_abandoned(store: Store) -> None:
    start_run(store, "update_last_used", "host-dead:9:dddddd")
    ctx = _ctx(store)
    assert run_job(ctx, "update_last_used") is not None
    latest, dead = job_runs(store, job="update_last_used")
    assert (latest.outcome, dead.outcome) == ("ok", "abandoned")
    assert "host-dead:9:dddddd" in dead.error and dead.finished is not None


def test_release_all_hands_over_at_once(store: Store) -> None:
    a, b = _ctx(store, "host-a:1:aaaaaa"), _ctx(store, "host-b:2:bbbbbb")
    assert heartbeat(a)
    release_all(a)
    assert heartbeat(b)


def test_turning_stale_check_off_in_settings_reaches_the_job(
    store: Store, clock: FakeClock
) -> None:
    okta = make_token(store, "Okta SCIM")
    clock.advance(hours=48)
    off = replace(store.settings, worker=replace(store.settings.worker, stale_after_hours=0.0))
    ctx = JobContext(store=replace(store, settings=off), holder="h:1:x", settings=off)
    assert _run(ctx, "flag_stale_tokens")[1:] == (
        0,
        "0 token(s) flagged or cleared (threshold 0 h)",
    )
    assert token_row(store, okta)[1] is None


def test_prune_job_drops_recovered_rate_limit_buckets_only(store: Store, clock: FakeClock) -> None:
    from pony.orm import db_session

    from store.services.tokens import authenticate, issue_token

    issued = issue_token(store, "Okta SCIM", "operator:test")
    secret = issued.secret
    assert authenticate(store, "Bearer tscim_" + "G" * 43, "203.0.113.9").reason == "unknown"
    assert authenticate(store, f"Bearer {secret}", "198.51.100.7").ok
    ctx = _ctx(store)
    _, changed, _ = _run(ctx, "prune_activity")
    assert changed == 0  # both buckets still hold a recent request
    clock.advance(minutes=2)
    assert authenticate(store, f"Bearer {secret}", "198.51.100.7").ok  # fresh again
    _, changed, summary = _run(ctx, "prune_activity")
    assert changed == 1 and "1 recovered rate-limit bucket" in summary
    with db_session:  # the failing address's bucket went; the busy token's stays
        assert [b.key for b in store.db.RateBucket.select()] == [f"token:{issued.record.id}"]
