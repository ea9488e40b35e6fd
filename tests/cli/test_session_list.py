"""``session start --address --user-agent`` and ``session list``, on SQLite and PostgreSQL:
where each valid session is used from, as text made safe for the terminal and as exact JSON,
``unknown`` where no address was ever given, and one line with status 2 for an address that is
not one."""

from __future__ import annotations

import json

from store.context import Store
from store.queries.identity import active_sessions
from store.records import SessionClient
from store.services.sessions import check_session
from tests.cli.conftest import Run
from tests.store.identity_factories import make_user

CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"  # OSC 52: replace the operator's clipboard


def _cookie(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_start_records_the_browser_and_list_shows_it(cli: Run, live: Store) -> None:
    jane = make_user(live, "jane@example.com")
    agent = f"Firefox/128.0 {CLIPBOARD}"
    code, out, _ = cli(
        "session", "start", "jane@example.com", "--address", "2001:DB8::7", "--user-agent", agent
    )
    assert code == 0 and check_session(live, _cookie(out)).valid
    code, out, _ = cli("session", "start", "jane@example.com")  # no address given
    assert code == 0

    code, out, err = cli("session", "list", "jane@example.com")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["SESSION", "STARTED", "LAST", "SEEN", "EXPIRES", "ADDRESS",
                                "USER-AGENT"]  # fmt: skip
    assert len(lines) == 3
    with_address = next(line for line in lines if "2001:db8::7" in line)
    assert "Firefox/128.0 \\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07" in with_address  # escaped
    assert "\x1b" not in out and "\x07" not in out
    without = next(line for line in lines[1:] if line is not with_address)
    assert " unknown " in without and without.rstrip().endswith("-")

    code, out, _ = cli("session", "list", "--id", jane, "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(s["address"], s["user_agent"]) for s in listed] == [
        (None, None),
        ("2001:db8::7", agent),
    ]
    assert "\\u001b]52" in out and "\x1b" not in out  # exact, escaped JSON
    assert {s["id"] for s in listed} == {s.id for s in active_sessions(live, jane)}
    assert all(s["started"].endswith("Z") and s["expires"].endswith("Z") for s in listed)


def test_list_follows_the_checks_a_trusted_proxy_names(cli: Run, live: Store) -> None:
    make_user(live, "jane@example.com")
    _, out, _ = cli("session", "start", "jane@example.com", "--address", "192.0.2.1")
    assert check_session(live, _cookie(out), SessionClient("198.51.100.4", "Safari/604.1")).valid
    _, out, _ = cli("session", "list", "jane@example.com", "--json")
    [listed] = json.loads(out)
    assert (listed["address"], listed["user_agent"]) == ("198.51.100.4", "Safari/604.1")


def test_a_bad_address_is_one_line_and_status_2(cli: Run, live: Store) -> None:
    make_user(live, "jane@example.com")
    for bad in ("not-an-ip", "203.0.113.7\x1b[2J", "fe80::1%eth0", ""):
        code, out, err = cli("session", "start", "jane@example.com", "--address", bad)
        assert code == 2 and out == ""
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "IPv4 or IPv6 address" in err and "\x1b" not in err
    code, out, _ = cli("session", "list", "jane@example.com")
    assert code == 0 and out.strip() == "no valid sessions"


def test_list_names_one_user(cli: Run, live: Store) -> None:
    code, _, err = cli("session", "list", "nobody@example.com")
    assert code == 2 and err.startswith("error: ") and "not found" in err
    code, _, err = cli("session", "list")
    assert code == 2 and "name the user once" in err
