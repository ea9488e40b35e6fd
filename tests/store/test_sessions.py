"""Control's browser sessions on SQLite and PostgreSQL: start, check, timeouts, end, sweep."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest
from pony.orm import db_session

from store.config import SessionSettings
from store.context import Store
from store.errors import InvalidInput, NotFound
from store.queries.identity import audit_events, user_detail
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import (
    check_session,
    end_sessions,
    expire_sessions,
    start_session,
)
from tests.store.identity_factories import add_member, make_group, make_user, soft_delete_user
from tests.store.test_tokens import dump_database
from tests.support import FakeClock

ADMIN = "operator:alice"


@pytest.fixture
def roles(store: Store) -> Store:
    ensure_default_roles(store)
    return store


def test_start_and_check_a_session(roles: Store) -> None:
    store = roles
    user_id = make_user(store, "Jane@Example.com", display_name="Jane Doe")
    group_id = make_group(store, "Ops")
    grant_role(store, "jane@example.com", "viewer", ADMIN)
    set_mapping(store, "ops", "operator", ADMIN)
    add_member(store, group_id, user_id)
    record, cookie = start_session(store, "JANE@example.com", ADMIN)
    assert cookie.startswith("tcs_") and record.user_id == user_id
    assert record.expires_at - record.created == timedelta(minutes=720)
    check = check_session(store, cookie)
    assert check.valid and check.user_name == "Jane@Example.com"
    assert check.display_name == "Jane Doe"
    assert check.roles == ("operator", "viewer")
    assert "session.started" in [e.action for e in audit_events(store, "user", user_id)]


def test_only_the_hash_is_stored(store: Store) -> None:
    make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    dumped = dump_database(store)
    assert cookie not in dumped and cookie[4:20] not in dumped
    assert hashlib.sha256(cookie.encode()).hexdigest() in dumped


def test_effective_roles_are_deduplicated(roles: Store) -> None:
    store = roles
    user_id = make_user(store, "jane")
    make_group(store, "Admins", members=(user_id,))
    make_group(store, "Platform", members=(user_id,))
    set_mapping(store, "admins", "admin", ADMIN)
    set_mapping(store, "platform", "admin", ADMIN)
    grant_role(store, "jane", "admin", ADMIN)
    _, cookie = start_session(store, "jane", ADMIN)
    assert check_session(store, cookie).roles == ("admin",)


@pytest.mark.parametrize(
    ("cookie", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("tscim_" + "A" * 43, "malformed"),  # a SCIM token is never a session
        ("tcs_short", "malformed"),
        ("tcs_" + "A" * 300, "malformed"),
        ("tcs_' OR 1=1 --", "malformed"),
        ("tcs_" + "A" * 43, "unknown"),
    ],
)
def test_bad_cookies_are_invalid(store: Store, cookie: str | None, reason: str) -> None:
    check = check_session(store, cookie)
    assert not check.valid and check.reason == reason and check.user_name is None


def test_unknown_or_inactive_users_cannot_start_a_session(store: Store) -> None:
    make_user(store, "gone", active=False)
    with pytest.raises(NotFound):
        start_session(store, "nobody", ADMIN)
    with pytest.raises(InvalidInput):
        start_session(store, "gone", ADMIN)
    deleted = make_user(store, "deleted")
    soft_delete_user(store, deleted)
    with pytest.raises(NotFound):
        start_session(store, "deleted", ADMIN)


def test_idle_timeout_and_last_seen_written_on_every_request(
    store: Store, clock: FakeClock
) -> None:
    make_user(store, "jane")
    record, cookie = start_session(store, "jane", ADMIN)  # idle timeout 60 minutes
    clock.advance(30)
    assert check_session(store, cookie).valid
    with db_session:
        assert store.db.Session[record.id].last_seen == clock.now
    clock.advance(31)
    assert check_session(store, cookie).valid
    with db_session:
        assert store.db.Session[record.id].last_seen == clock.now
    clock.advance(minutes=59)
    assert check_session(store, cookie).valid  # kept alive: 59 minutes since last seen
    clock.advance(minutes=60)
    assert check_session(store, cookie).reason == "idle"
    clock.advance(1)
    assert check_session(store, cookie).reason == "idle"  # no resurrection


def test_absolute_timeout_even_when_active(store: Store, clock: FakeClock) -> None:
    make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    for _ in range(12 * 2):  # a request every 30 minutes for 12 hours
        assert check_session(store, cookie).valid
        clock.advance(minutes=30)
    assert check_session(store, cookie).reason == "expired"


def test_deactivation_invalidates_at_once_and_reactivation_needs_a_new_session(
    store: Store,
) -> None:
    user_id = make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    assert check_session(store, cookie).valid
    deactivate_user(store, user_id, "token:Okta", "IdP set active=false")
    assert check_session(store, cookie).reason == "ended"
    reactivate_user(store, user_id, "token:Okta")
    assert not check_session(store, cookie).valid  # an ended session stays ended
    _, fresh = start_session(store, "jane", ADMIN)
    assert check_session(store, fresh).valid


def test_inactive_user_is_invalid_even_if_a_session_was_left_open(store: Store) -> None:
    user_id = make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    with db_session:  # a path that forgot to end sessions must still not let them in
        store.db.User[user_id].active = False
    assert check_session(store, cookie).reason == "user inactive"
    assert expire_sessions(store) == 1
    assert check_session(store, cookie).reason == "ended"


def test_deleted_user_is_invalid(store: Store) -> None:
    user_id = make_user(store, "jane")
    _, cookie = start_session(store, "jane", ADMIN)
    with db_session:
        store.db.User[user_id].deleted_at = store.clock()
    assert check_session(store, cookie).reason == "user deleted"


def test_end_sessions_ends_every_session_of_the_user(store: Store) -> None:
    user_id = make_user(store, "jane")
    make_user(store, "john")
    cookies = [start_session(store, "jane", ADMIN)[1] for _ in range(3)]
    _, other = start_session(store, "john", ADMIN)
    assert user_detail(store, "jane").active_sessions == 3
    assert end_sessions(store, "JANE", ADMIN) == 3
    assert all(check_session(store, c).reason == "ended" for c in cookies)
    assert check_session(store, other).valid
    assert end_sessions(store, "jane", ADMIN) == 0
    assert user_detail(store, "jane").active_sessions == 0
    assert [e.action for e in audit_events(store, "user", user_id)][:2] == ["sessions.ended"] * 2
    with pytest.raises(NotFound):
        end_sessions(store, "nobody", ADMIN)


def test_expire_sessions_sweeps_timeouts_and_inactive_users(store: Store, clock: FakeClock) -> None:
    make_user(store, "idle")
    make_user(store, "busy")
    inactive = make_user(store, "leaver")
    _, idle = start_session(store, "idle", ADMIN)
    _, busy = start_session(store, "busy", ADMIN)
    _, leaver = start_session(store, "leaver", ADMIN)
    with db_session:
        store.db.User[inactive].active = False
    assert expire_sessions(store) == 1  # the inactive user's session
    for _ in range(3):
        clock.advance(minutes=30)
        assert check_session(store, busy).valid
    assert expire_sessions(store) == 1  # idle for 90 minutes
    assert expire_sessions(store) == 0  # idempotent
    clock.advance(minutes=12 * 60)
    assert expire_sessions(store) == 1  # busy's absolute timeout
    with db_session:
        reasons = sorted(s.end_reason for s in store.db.Session.select())
    assert reasons == ["expired", "idle", "user inactive"]
    assert not any(check_session(store, c).valid for c in (idle, busy, leaver))


def test_idle_timeout_zero_switches_idle_expiry_off(store: Store, clock: FakeClock) -> None:
    relaxed = replace(
        store,
        settings=replace(
            store.settings,
            sessions=SessionSettings(idle_timeout_minutes=0, absolute_timeout_minutes=600),
        ),
    )
    make_user(relaxed, "jane")
    _, cookie = start_session(relaxed, "jane", ADMIN)
    clock.advance(minutes=500)
    assert check_session(relaxed, cookie).valid
    assert expire_sessions(relaxed) == 0
    clock.advance(minutes=100)
    assert check_session(relaxed, cookie).reason == "expired"
