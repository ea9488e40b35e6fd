"""Where a browser session is used from, on SQLite and PostgreSQL: the address and
User-Agent given when it starts, updated by each accepted check that names them, kept when a
check names none, and nothing but an IP address ever stored as the address."""

from __future__ import annotations

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.clients import USER_AGENT_CAP
from store.errors import InvalidInput
from store.queries.identity import active_sessions
from store.records import SessionClient
from store.services.sessions import check_session, check_session_cookies, start_session
from tests.store.identity_factories import make_user
from tests.support import FakeClock

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1"


def _listed(store: Store, user_id: str) -> list[tuple[str | None, str | None]]:
    return [(s.client_address, s.user_agent) for s in active_sessions(store, user_id)]


def _session_count(store: Store) -> int:
    with db_session:
        return int(store.db.Session.select().count())


def test_the_address_given_at_sign_in_is_recorded_then_follows_the_checks(
    store: Store, clock: FakeClock
) -> None:
    jane = make_user(store, "jane@example.com")
    record, cookie = start_session(
        store, "jane@example.com", "sso", SessionClient("2001:DB8::7", FIREFOX)
    )
    assert (record.client_address, record.user_agent) == ("2001:db8::7", FIREFOX)
    assert _listed(store, jane) == [("2001:db8::7", FIREFOX)]

    clock.advance(seconds=30)
    assert check_session(store, cookie, SessionClient("198.51.100.4", SAFARI)).valid
    assert _listed(store, jane) == [("198.51.100.4", SAFARI)]

    clock.advance(seconds=30)  # a check that names nobody (no trusted proxy) keeps the last
    assert check_session(store, cookie).valid
    assert check_session_cookies(store, [cookie], SessionClient(None, None)).valid
    assert _listed(store, jane) == [("198.51.100.4", SAFARI)]
    [listed] = active_sessions(store, jane)
    assert listed.last_seen.replace(tzinfo=None) == clock.now  # last seen moved all the same


def test_only_an_ip_address_is_stored_and_the_user_agent_is_capped(
    store: Store, clock: FakeClock
) -> None:
    jane = make_user(store, "jane@example.com")
    _, cookie = start_session(store, "jane@example.com", "sso")
    assert _listed(store, jane) == [(None, None)]  # nothing given: unknown

    clock.advance(seconds=1)
    forged = "203.0.113.7\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"
    long_agent = "\x1b[31mred\x00" + "x" * 1000
    assert check_session(store, cookie, SessionClient(forged, long_agent)).valid
    [(address, agent)] = _listed(store, jane)
    assert address is None  # not an address: nothing stored, not even part of it
    assert agent is not None and len(agent) == USER_AGENT_CAP
    assert agent.startswith("\x1b[31mred\ufffd")  # kept as sent (shown escaped), NUL replaced

    clock.advance(seconds=1)
    assert check_session(store, cookie, SessionClient("::ffff:198.51.100.4", None)).valid
    assert _listed(store, jane) == [("198.51.100.4", agent)]


def test_a_refused_check_records_nothing(store: Store, clock: FakeClock) -> None:
    jane = make_user(store, "jane@example.com")
    _, cookie = start_session(store, "jane@example.com", "sso", SessionClient("192.0.2.1"))
    clock.advance(seconds=1)
    other = "tcs_" + "A" * 43
    assert not check_session_cookies(store, [other], SessionClient("203.0.113.9", SAFARI)).valid
    assert _listed(store, jane) == [("192.0.2.1", None)]
    assert check_session(store, cookie, SessionClient(None, SAFARI)).valid
    assert _listed(store, jane) == [("192.0.2.1", SAFARI)]


@pytest.mark.parametrize("address", ["not-an-ip", "", "fe80::1%eth0", "203.0.113.7\x1b[2J"])
def test_a_sign_in_with_a_bad_address_is_refused_and_starts_nothing(
    store: Store, address: str
) -> None:
    make_user(store, "jane@example.com")
    with pytest.raises(InvalidInput) as refused:
        start_session(store, "jane@example.com", "sso", SessionClient(address, FIREFOX))
    assert refused.value.attribute == "address"
    assert refused.value.message == "the client address must be an IPv4 or IPv6 address"
    assert _session_count(store) == 0
