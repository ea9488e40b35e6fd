"""A user's valid sessions listed for the operator, and ending exactly one of them (audited),
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from store.context import Store
from store.errors import NotFound
from store.queries.identity import active_sessions, audit_events, user_detail
from store.services.roles import ensure_default_roles
from store.services.sessions import check_session, end_session, start_session
from tests.store.identity_factories import make_user
from tests.support import FakeClock

ADMIN = "operator:alice"


def test_lists_valid_sessions_and_ends_one_of_them(store: Store, clock: FakeClock) -> None:
    ensure_default_roles(store)
    user_id = make_user(store, "ann@example.com")
    other_id = make_user(store, "ben@example.com")
    first, first_cookie = start_session(store, "ann@example.com", "sso")
    clock.advance(minutes=5)
    second, second_cookie = start_session(store, "ann@example.com", "sso")
    theirs, _ = start_session(store, "ben@example.com", "sso")
    listed = active_sessions(store, user_id)
    assert [s.id for s in listed] == [second.id, first.id]  # most recently seen first
    assert listed[0].created == second.created and listed[0].last_seen is not None

    with pytest.raises(NotFound):
        end_session(store, theirs.id, user_id, ADMIN)  # another user's session: not found
    assert end_session(store, first.id, user_id, ADMIN) is True
    assert end_session(store, first.id, user_id, ADMIN) is False  # already ended, no event

    assert [s.id for s in active_sessions(store, user_id)] == [second.id]
    assert not check_session(store, first_cookie).valid
    assert check_session(store, second_cookie).valid
    assert user_detail(store, user_id).active_sessions == 1
    assert len(active_sessions(store, other_id)) == 1
    events = [e for e in audit_events(store, "user", user_id, 10) if e.action == "session.ended"]
    assert len(events) == 1 and events[0].actor == ADMIN
    assert f"session {first.id}" in events[0].detail


def test_an_unknown_user_or_session_is_not_found(store: Store) -> None:
    ensure_default_roles(store)
    user_id = make_user(store, "ann@example.com")
    with pytest.raises(NotFound):
        active_sessions(store, "no-such-user")
    with pytest.raises(NotFound):
        end_session(store, 999_999, user_id, ADMIN)
