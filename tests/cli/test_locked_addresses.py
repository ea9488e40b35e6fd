"""``token locked`` and ``token unlock``: the operator sees which client addresses are past
their failed-authentication limit (every request refused, valid tokens included) and lets
one authenticate again, audited; on SQLite and PostgreSQL (on the database's clock there)."""

from __future__ import annotations

import json

from pony.orm import db_session

from store.context import Store
from store.services.tokens import authenticate, issue_token
from tests.cli.conftest import Run

WRONG = "Bearer tscim_" + "x" * 43


def test_a_locked_address_is_listed_and_unlocked(cli: Run, live: Store) -> None:
    secret = issue_token(live, "Okta", "operator:test").secret
    failures = [authenticate(live, WRONG, "2001:db8:0:1::5") for _ in range(10)]
    assert [f.reason for f in failures] == ["unknown"] * 10
    assert [f.locked for f in failures] == [False] * 9 + [True]
    assert authenticate(live, f"Bearer {secret}", "2001:db8:0:1::9").reason == "rate_limited"
    assert authenticate(live, WRONG, "192.0.2.1").reason == "unknown"

    code, out, err = cli("token", "locked")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ADDRESS", "FAILURES", "STATUS"]
    assert lines[1].split() == ["192.0.2.1", "1", "counting"]  # failures, but not locked
    assert lines[2].split()[:4] == ["2001:db8:0:1::/64", "10", "locked", "for"]
    assert "trusted_proxies" in err
    code, out, _ = cli("token", "locked", "--json")
    listed = {one["address"]: one for one in json.loads(out)}
    assert listed["2001:db8:0:1::/64"]["locked"] is True
    assert listed["2001:db8:0:1::/64"]["retry_after_seconds"] >= 1
    assert listed["192.0.2.1"] == {"address": "192.0.2.1", "failures": 1, "locked": False,
                                   "retry_after_seconds": 0}  # fmt: skip

    code, out, err = cli("token", "unlock", "2001:db8:0:1::77")  # any address of the /64
    assert code == 0, err
    assert out.strip() == (
        "address 2001:db8:0:1::/64 unlocked: 10 failed authentications forgotten (was locked)"
    )
    assert authenticate(live, f"Bearer {secret}", "2001:db8:0:1::9").ok
    with db_session:
        events = live.db.select(
            'SELECT "actor", "target_id" FROM "audit_event" WHERE "action" = $action',
            {"action": "address.unlocked"},
        )
    assert [tuple(e) for e in events] == [(events[0][0], "2001:db8:0:1::/64")]

    code, _, err = cli("token", "unlock", "2001:db8:0:1::/64")
    assert code != 0 and "no failed authentications are counted against" in err
    code, _, err = cli("token", "unlock", "not-an-address\x1b[31m")
    assert code != 0 and "an address is an IP address" in err and "\x1b" not in err
    code, _, err = cli("token", "unlock", "2001:db8::/48")
    assert code != 0 and "an address is an IP address" in err
    assert cli("token", "unlock", "192.0.2.1")[0] == 0
    assert cli("token", "locked")[1].strip() == (
        "no failed authentications are counted against any address"
    )
