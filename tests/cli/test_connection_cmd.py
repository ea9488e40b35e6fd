"""``trident-scim connection``, ``token create --connection``, ``mapping … --connection`` and
``activity --connection`` end to end on SQLite and PostgreSQL: in-process through
``cli.main.main`` and, for what an operator's terminal sees, the real console script. Bad
input is one line on stderr and exit status 2."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from pony.orm import db_session

from store.context import Store, utc_now
from store.domain.scope import of_connection
from store.queries.identity import audit_events
from store.queries.tokens import list_tokens
from store.records import ActivityInput, GroupInput, UserInput
from store.services.activity import record_activity
from store.services.connections import get_connection, list_connections
from store.services.groups import create_group
from store.services.tokens import authenticate
from store.services.users import create_user, delete_user
from tests.cli.conftest import Run
from tests.cli.test_failures import one_line_error, run
from tests.store.identity_factories import roles_of

OSC52 = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _user(store: Store, connection: str, user_name: str) -> str:
    owner = of_connection(get_connection(store, connection).id)
    data = UserInput(user_name=user_name, document={"userName": user_name})
    return create_user(store, data, f"token:{connection}", scope=owner).id


def _group(store: Store, connection: str, name: str, members: tuple[str, ...]) -> str:
    owner = of_connection(get_connection(store, connection).id)
    data = GroupInput(display_name=name, document={})
    return create_group(store, data, members, f"token:{connection}", scope=owner).id


def _secret(out: str) -> str:
    return out.strip().splitlines()[-1]


def _connections(cli: Run) -> list[dict[str, object]]:
    code, out, err = cli("connection", "list", "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


# ---- create, list --------------------------------------------------------------------------


def test_create_issue_and_list_with_tokens_counts_and_status(cli: Run, live: Store) -> None:
    code, out, err = cli("connection", "create", "Okta", "--kind", "OKTA")
    assert (code, out) == (0, "connection 'Okta' (okta) created\n")
    assert "token create NAME --connection 'Okta'" in err
    code, out, err = cli("token", "create", "Okta SCIM", "--connection", "okta")
    assert code == 0 and "for connection 'Okta'" in err
    okta_secret = _secret(out)
    code, out, _ = cli("token", "create", "Entra ID")  # no --connection: one of its own name
    entra_secret = _secret(out)
    assert cli("connection", "create", "JumpCloud", "--kind", "jumpcloud")[0] == 0
    assert authenticate(live, f"Bearer {okta_secret}", "10.1.1.1").ok
    alice = _user(live, "Okta", "alice@example.com")
    _user(live, "Okta", "bob@example.com")
    _group(live, "Okta", "Engineering", (alice,))

    listed = _connections(cli)
    assert [c["name"] for c in listed] == ["Entra ID", "JumpCloud", "Okta"]
    entra, jump, okta = listed
    assert (okta["kind"], okta["users"], okta["groups"], okta["status"]) == ("okta", 2, 1, "active")
    assert (jump["kind"], jump["users"], jump["status"], jump["tokens"]) == (
        "jumpcloud",
        0,
        "no tokens",
        [],
    )
    assert (entra["kind"], entra["last_used"]) == (None, None)
    [token] = okta["tokens"]  # type: ignore[misc]
    assert token["name"] == "Okta SCIM" and token["prefix"] == okta_secret[:10]
    assert token["status"] == "active" and token["stale"] is False and token["revoked_at"] is None
    assert token["created_by"].startswith("operator:")
    assert ISO.match(okta["created"]) and ISO.match(token["last_used"])  # type: ignore[arg-type]
    assert okta["last_used"] == token["last_used"]
    assert set(okta) == {
        "name",
        "kind",
        "created",
        "status",
        "users",
        "groups",
        "last_used",
        "domains",
        "tokens",
    }
    assert okta_secret not in json.dumps(listed) and entra_secret not in json.dumps(listed)

    code, out, _ = cli("connection", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["CONNECTION", "/", "TOKEN", "KIND", "/", "PREFIX", "STATUS",
                                "USERS", "GROUPS", "LAST", "USED"]  # fmt: skip
    okta_row = lines.index(next(line for line in lines if line.startswith("Okta ")))
    assert lines[okta_row].split()[:5] == ["Okta", "okta", "active", "2", "1"]
    assert lines[okta_row + 1].startswith("  Okta SCIM") and okta_secret[:10] in lines[okta_row + 1]
    assert any(line.startswith("JumpCloud") and "no tokens" in line for line in lines)

    code, out, _ = cli("token", "list", "--json")
    assert {t["name"]: t["connection"] for t in json.loads(out)} == {
        "Okta SCIM": "Okta",
        "Entra ID": "Entra ID",
    }
    assert "Okta SCIM  Okta " in cli("token", "list")[1]


def test_a_connection_may_hold_several_active_tokens(cli: Run, live: Store) -> None:
    old = _secret(cli("token", "create", "Okta")[1])
    code, out, _ = cli("token", "create", "Okta 2026", "--connection", "Okta")
    new = _secret(out)
    assert code == 0
    assert authenticate(live, f"Bearer {old}", "10.1.1.1").ok
    assert authenticate(live, f"Bearer {new}", "10.1.1.1").ok
    assert cli("token", "revoke", "Okta")[0] == 0
    assert authenticate(live, f"Bearer {new}", "10.1.1.1").ok
    [okta] = _connections(cli)
    assert [(t["name"], t["status"]) for t in okta["tokens"]] == [  # type: ignore[attr-defined]
        ("Okta 2026", "active"),
        ("Okta", "revoked"),
    ]
    assert okta["status"] == "active"


def test_no_connections_yet(cli: Run) -> None:
    assert cli("connection", "list") == (
        0,
        "no connections yet: trident-scim connection create NAME\n",
        "",
    )
    assert _connections(cli) == []


def _hostile(store: Store, user_id: str, group_id: str) -> None:
    """Names holding escape sequences, as stored before names were checked (a database from
    an older release keeps them)."""
    with db_session:
        store.db.User[user_id].user_name = f"mallory{OSC52}@example.com"
        store.db.Group[group_id].display_name = f"Admins{OSC52}"


def test_names_are_terminal_safe_in_text_and_exact_in_json(cli: Run, live: Store) -> None:
    assert cli("connection", "create", "Okta")[0] == 0
    mallory = _user(live, "Okta", "mallory@example.com")
    _hostile(live, mallory, _group(live, "Okta", "Admins", (mallory,)))
    assert cli("connection", "create", "Entra ID")[0] == 0
    code, out, _ = cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID", "--dry-run")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "mallory\\x1b]52;c;" in out and "Admins\\x1b]52;c;" in out
    code, out, _ = cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID",
                       "--dry-run", "--json")  # fmt: skip
    plan = json.loads(out)
    assert plan["users"] == [{"id": mallory, "userName": f"mallory{OSC52}@example.com"}]
    assert plan["groups"][0]["displayName"] == f"Admins{OSC52}"
    code, out, _ = cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID")
    assert code == 0 and [c["users"] for c in _connections(cli)] == [1, 0]


# ---- rename, remove ------------------------------------------------------------------------


def test_rename_keeps_tokens_and_users(cli: Run, live: Store) -> None:
    secret = _secret(cli("token", "create", "Okta SCIM")[1])
    _user(live, "Okta SCIM", "alice@example.com")
    code, out, _ = cli("connection", "rename", "okta scim", "Okta")
    assert (code, out) == (0, "connection 'okta scim' is now 'Okta'\n")
    [okta] = _connections(cli)
    assert (okta["name"], okta["users"]) == ("Okta", 1)
    assert authenticate(live, f"Bearer {secret}", "10.1.1.1").ok
    assert cli("connection", "rename", "Okta", "OKTA")[0] == 0  # the case of its own name
    assert [c["name"] for c in _connections(cli)] == ["OKTA"]


def test_remove_is_refused_while_it_owns_users_then_revokes_its_tokens(
    cli: Run, live: Store
) -> None:
    secret = _secret(cli("token", "create", "Okta")[1])
    assert cli("connection", "create", "Entra ID")[0] == 0
    _user(live, "Okta", "alice@example.com")
    code, _, err = cli("connection", "remove", "Okta")
    assert code == 2 and err.startswith("error: connection 'Okta' owns 1 user(s)")
    assert "transfer" in err and len(err.splitlines()) == 1
    assert authenticate(live, f"Bearer {secret}", "10.1.1.1").ok
    assert cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID")[0] == 0
    code, out, _ = cli("connection", "remove", "okta")
    assert (code, out) == (0, "connection 'Okta' removed; 1 active token(s) revoked\n")
    assert authenticate(live, f"Bearer {secret}", "10.1.1.1").reason == "revoked"
    assert [c["name"] for c in _connections(cli)] == ["Entra ID"]
    assert [t.status for t in list_tokens(live)] == ["revoked"]


# ---- transfer ------------------------------------------------------------------------------


def test_transfer_dry_run_lists_and_changes_nothing_then_moves(cli: Run, live: Store) -> None:
    cli("connection", "create", "Okta", "--kind", "okta")
    cli("connection", "create", "Entra ID", "--kind", "entra")
    alice = _user(live, "Okta", "alice@example.com")
    bob = _user(live, "Okta", "bob@example.com")
    _group(live, "Okta", "Engineering", (alice, bob))
    assert cli("mapping", "set", "Engineering", "operator", "--connection", "Entra ID")[0] == 0
    assert cli("role", "grant", "bob@example.com", "admin")[0] == 0
    assert roles_of(live, alice) == set()

    code, out, _ = cli("connection", "transfer", "--from", "okta", "--to", "entra id", "--dry-run")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "dry run: would transfer 2 user(s) and 1 group(s) from 'Okta' to 'Entra ID' "
        "(nothing changed)"
    )
    assert [line.split()[:2] for line in lines[2:]] == [
        ["user", "alice@example.com"],
        ["user", "bob@example.com"],
        ["group", "Engineering"],
    ]
    assert {c["name"]: c["users"] for c in _connections(cli)} == {"Entra ID": 0, "Okta": 2}

    code, out, _ = cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID")
    assert (code, out) == (0, "transferred 2 user(s) and 1 group(s) from 'Okta' to 'Entra ID'\n")
    counts = {c["name"]: (c["users"], c["groups"]) for c in _connections(cli)}
    assert counts == {"Entra ID": (2, 1), "Okta": (0, 0)}
    # the moved group now matches Entra's mapping row; bob's manual role is intact
    assert roles_of(live, alice) == {("operator", "idp")}
    assert roles_of(live, bob) == {("operator", "idp"), ("admin", "manual")}
    shown = json.loads(cli("user", "show", "alice@example.com", "--json")[1])
    assert shown["connection"] == "Entra ID"
    assert "connection.transferred" not in [e["action"] for e in shown["audit"]]
    assert "user.transferred" in [e["action"] for e in shown["audit"]]
    assert "  connection:      Entra ID" in cli("user", "show", "alice@example.com")[1]


def test_transfer_users_only_leaves_the_groups(cli: Run, live: Store) -> None:
    cli("connection", "create", "Okta")
    cli("connection", "create", "Entra ID")
    alice = _user(live, "Okta", "alice@example.com")
    _group(live, "Okta", "Engineering", (alice,))
    code, out, _ = cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID",
                       "--users-only", "--dry-run")  # fmt: skip
    assert code == 0 and "1 user(s) and 0 group(s)" in out and "--users-only" in out
    assert "Engineering" not in out
    assert (
        cli("connection", "transfer", "--from", "Okta", "--to", "Entra ID", "--users-only")[0] == 0
    )
    counts = {c["name"]: (c["users"], c["groups"]) for c in _connections(cli)}
    assert counts == {"Entra ID": (1, 0), "Okta": (0, 1)}


# ---- mapping and activity ------------------------------------------------------------------


def test_mapping_set_with_a_connection_matches_only_its_groups(cli: Run, live: Store) -> None:
    cli("connection", "create", "Okta")
    cli("connection", "create", "Entra ID")
    alice = _user(live, "Okta", "alice@example.com")
    erin = _user(live, "Entra ID", "erin@example.com")
    _group(live, "Okta", "Engineering", (alice,))
    _group(live, "Entra ID", "Engineering", (erin,))

    code, out, err = cli("mapping", "preview", "--add", "Engineering", "admin",
                         "--connection", "Okta", "--json")  # fmt: skip
    assert json.loads(out) == [{"userName": "alice@example.com", "role": "admin", "change": "gain"}]
    assert err == (
        "'Engineering' in connection 'Okta' matches: 'Engineering' of Okta (1 member(s))\n"
    )
    code, out, err = cli("mapping", "preview", "--add", "engineering", "admin")
    assert err == (
        "'engineering' in any connection matches: 'Engineering' of Entra ID (1 member(s)), "
        "'Engineering' of Okta (1 member(s))\n"
    )
    assert out.splitlines()[1:] == [
        "alice@example.com  admin  gain",
        "erin@example.com   admin  gain",
    ]
    code, out, err = cli("mapping", "preview", "--add", "Enginering", "admin")
    assert err == "'Enginering' in any connection matches: no group yet\n"
    code, out, _ = cli("mapping", "set", "engineering", "admin", "--connection", "OKTA")
    assert (code, out) == (
        0,
        "IdP group 'engineering' -> role admin (groups of connection 'Okta')\n",
    )
    assert roles_of(live, alice) == {("admin", "idp")} and roles_of(live, erin) == set()
    code, out, _ = cli("mapping", "set", "Engineering", "viewer")
    assert out == "IdP group 'Engineering' -> role viewer (groups of any connection)\n"
    assert roles_of(live, erin) == {("viewer", "idp")}

    code, out, _ = cli("mapping", "list", "--json")
    assert [(m["group"], m["role"], m["connection"]) for m in json.loads(out)] == [
        ("engineering", "admin", "Okta"),
        ("Engineering", "viewer", None),
    ]
    code, out, _ = cli("mapping", "list")
    assert out.splitlines()[0].split() == ["GROUP", "ROLE", "CONNECTION", "BY"]
    assert out.splitlines()[1].split()[:3] == ["engineering", "admin", "Okta"]
    assert out.splitlines()[2].split()[:3] == ["Engineering", "viewer", "any"]

    code, out, _ = cli("mapping", "remove", "Engineering", "admin")  # the row for any: none
    assert "nothing changed" in out and roles_of(live, alice) == {
        ("admin", "idp"),
        ("viewer", "idp"),
    }
    code, out, _ = cli("mapping", "remove", "Engineering", "admin", "--connection", "Okta")
    assert code == 0 and out.startswith("removed") and roles_of(live, alice) == {("viewer", "idp")}


def _log(store: Store) -> None:
    now = utc_now()

    def entry(minutes: int, connection: str, token: str, status: int) -> ActivityInput:
        return ActivityInput(
            at=now - timedelta(minutes=minutes), method="GET", path="/scim/v2/Users",
            status=status, latency_ms=2.0, token_name=token, client="10.0.0.7",
            connection=connection,
        )  # fmt: skip

    record_activity(
        store,
        [
            entry(30, "Okta", "Okta SCIM", 200),
            entry(20, "Entra ID", "Entra SCIM", 201),
            entry(10, "Okta", "Okta-2", 409),
            entry(5, "", "unknown tscim_AbCd…", 401),
            entry(3, f"Old{OSC52}", "gone", 200),
        ],
    )


def test_activity_by_connection_shows_the_connection(cli: Run, live: Store) -> None:
    cli("connection", "create", "Okta")
    cli("connection", "create", "Entra ID")
    _log(live)
    code, out, _ = cli("activity", "--connection", "okta", "--json")
    rows = json.loads(out)
    assert [(r["connection"], r["token"], r["status"]) for r in rows] == [
        ("Okta", "Okta-2", 409),
        ("Okta", "Okta SCIM", 200),
    ]
    code, out, _ = cli("activity", "--json")
    assert [r["connection"] for r in json.loads(out)] == [
        None, "Okta", f"Old{OSC52}", "Entra ID", "Okta"
    ]  # fmt: skip
    code, out, _ = cli("activity")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["TIME", "(UTC)", "CONNECTION", "TOKEN"]
    assert any(line.split()[2:4] == ["Entra", "ID"] for line in lines)
    assert "Old\\x1b]52;c;" in out and "\x1b" not in out
    code, _, err = cli("activity", "--connection", f"Old{OSC52}")  # no name can hold one
    assert code == 2 and "control" in err and "\x1b" not in err


def test_activity_keeps_a_name_the_log_has_but_no_connection(cli: Run, live: Store) -> None:
    cli("token", "create", "Okta SCIM")
    entry = ActivityInput(
        at=utc_now(), method="GET", path="/scim/v2/Users", status=200, latency_ms=1.0,
        connection="Okta SCIM",
    )  # fmt: skip
    record_activity(live, [entry])
    cli("connection", "rename", "Okta SCIM", "Okta")
    code, out, _ = cli("activity", "--connection", "Okta SCIM", "--json")
    assert code == 0 and [r["connection"] for r in json.loads(out)] == ["Okta SCIM"]
    code, out, _ = cli("activity", "--connection", "Okta", "--json")
    assert code == 0 and json.loads(out) == []


# ---- bad input -----------------------------------------------------------------------------

LONG = "x" * 65


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("connection", "create", ""), "error: a connection needs a name, e.g. 'Okta'"),
        (("connection", "create", "   "), "error: a connection needs a name, e.g. 'Okta'"),
        (("connection", "create", LONG), "error: a connection name has at most 64 characters"),
        (("connection", "create", "Ok\x1b[2Kta"), "control or invisible formatting characters"),
        (("connection", "create", "Ok\u202eta"), "U+202E RIGHT-TO-LEFT OVERRIDE"),
        (("connection", "create", "Okta", "--kind", "ping"), "unknown connection kind 'ping'"),
        (("connection", "create", "okta"), "a connection named 'Okta' already exists"),
        (("connection", "rename", "Nope", "X"), "error: no connection named 'Nope'"),
        (("connection", "rename", "", "X"), "error: OLD: a connection needs a name"),
        (("connection", "rename", "Okta", ""), "error: a connection needs a name"),
        (("connection", "rename", "Okta", LONG), "at most 64 characters"),
        (("connection", "rename", "Okta", "a\tb"), "U+0009"),
        (("connection", "rename", "Okta", "Entra ID"), "a connection named 'Entra ID' already"),
        (("connection", "remove", "Nope"), "error: no connection named 'Nope'"),
        (("connection", "remove", LONG), "error: no connection named 'xxxxx"),
        (("connection", "remove", "\x07"), "control or invisible formatting characters"),
        (("connection", "transfer", "--from", "Okta", "--to", "OKTA"), "into itself"),
        (
            ("connection", "transfer", "--from", "Okta", "--to", "Nope"),
            "no connection named 'Nope'",
        ),
        (
            ("connection", "transfer", "--from", "", "--to", "Okta"),
            "error: --from: a connection needs",
        ),
        (
            ("connection", "transfer", "--from", "Okta", "--to", LONG),
            "error: no connection named 'xxxxx",
        ),
        (("connection", "transfer", "--from", "Nope", "--to", "Okta", "--dry-run"), "'Nope'"),
        (("token", "create", "T", "--connection", "Nope"), "error: no connection named 'Nope'"),
        (("token", "create", "T", "--connection", ""), "error: --connection: a connection needs"),
        (("token", "create", "T", "--connection", "\x1b]0;x\x07"), "--connection: a connection"),
        (("token", "create", "Okta"), "already exists"),  # a token's own connection: taken
        (("mapping", "set", "G", "admin", "--connection", "Nope"), "no connection named 'Nope'"),
        (("mapping", "set", "G", "admin", "--connection", LONG), "no connection named 'xxxxx"),
        (("mapping", "remove", "G", "admin", "--connection", "Nope"), "no connection named"),
        (("mapping", "preview", "--add", "G", "admin", "--connection", "Nope"), "no connection"),
        (("connection", "create", "New", "--domains", "corp..example"), "not a domain name"),
        (("connection", "create", "New", "--domains", " , "), "at least one domain"),
        (("connection", "domains", "Okta", "--set", "bücher.example"), "xn-- (punycode) form"),
        (("connection", "domains", "Okta", "--set", "corp.*.example"), "not a domain name"),
        (("connection", "domains", "Okta", "--set", "x\x1b[2J.example"), "is not a domain name"),
        (("connection", "domains", "Okta", "--set", ""), "at least one domain"),
        (("connection", "domains", "Nope", "--clear"), "error: no connection named 'Nope'"),
        (("connection", "domains", "", "--clear"), "error: NAME: a connection needs a name"),
        (("connection", "show", "Nope"), "error: no connection named 'Nope'"),
        (("activity", "--connection", "Nope"), "error: no connection named 'Nope'"),
        (("activity", "--connection", ""), "error: --connection: a connection needs a name"),
        (("activity", "--connection", LONG), "error: no connection named 'xxxxx"),
        (("activity", "--connection", "x" * 257), "--connection: a connection name has at most"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(
    cli: Run, args: tuple[str, ...], expected: str
) -> None:
    assert cli("connection", "create", "Okta")[0] == 0
    assert cli("connection", "create", "Entra ID")[0] == 0
    before = _connections(cli)
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert expected in err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert _connections(cli) == before  # nothing half-applied


def test_the_real_script_fails_without_a_traceback(store: Store, config: Path) -> None:
    assert run(config, "db", "init").returncode == 0
    assert run(config, "connection", "create", "Okta").returncode == 0
    cases = [
        ("connection", "create", "Ok\x1b]52;c;eA==\x07ta"),
        ("connection", "transfer", "--from", "okta", "--to", "Okta"),
        ("connection", "remove", "Nope"),
        ("token", "create", "T", "--connection", "x" * 500),
        ("activity", "--connection", "Nope"),
    ]
    for args in cases:
        done = run(config, *args)
        assert done.returncode == 2, args
        line = one_line_error(done)
        assert "\x1b" not in line and "\x07" not in line
    assert [c.name for c in list_connections(store)] == ["Okta"]


def test_a_connection_an_upgrade_named_after_a_long_token_can_be_named_and_renamed(
    cli: Run, live: Store
) -> None:
    """0.1.0 token names had up to 128 characters and the upgrade named each connection after
    its tokens: such a name is longer than a new connection's may be, yet every command must
    still take it. Its token cannot be rotated under that name; renamed, it can."""
    from store.domain.names import fold
    from store.services.tokens import rotate_token

    assert cli("token", "create", "Legacy")[0] == 0
    long = "Legacy SCIM provisioning token of the old directory " + "x" * 75
    with db_session:
        row = live.db.Connection.get(name_key=fold("Legacy"))
        row.name, row.name_key = long, fold(long)
    code, out, err = cli("token", "create", "Second", "--connection", long.upper())
    assert code == 0, err
    with pytest.raises(Exception, match="rename the connection"):
        rotate_token(live, "Second", "operator:test")
    code, out, err = cli("connection", "rename", long, "Legacy")
    assert code == 0, err
    assert rotate_token(live, "Second", "operator:test").record.name == "Legacy-2"


# ---- userName domains ----------------------------------------------------------------------


def _audit(live: Store, connection_id: int) -> list[list[object]]:
    """The domain changes of a connection, oldest first, as plain JSON values."""
    events = audit_events(live, "connection", str(connection_id), 50)[::-1]
    found = [(e.action, e.before, e.after) for e in events if "domains" in e.action]
    return json.loads(json.dumps(found, default=dict))  # type: ignore[no-any-return]


def test_domains_are_set_shown_counted_cleared_and_audited(cli: Run, live: Store) -> None:
    code, out, err = cli("connection", "create", "Partner", "--domains", "B.example,a.example")
    assert (code, out) == (0, "connection 'Partner' created; userName domains: a.example, "
                               "b.example\n"), err  # fmt: skip
    assert cli("connection", "create", "Okta", "--kind", "okta")[0] == 0
    for name in ("ann@a.example", "bob@other.example", "cy@B.EXAMPLE", "dee@sub.a.example"):
        _user(live, "Okta", name)
    deleted = _user(live, "Okta", "gone@other.example")
    delete_user(live, deleted, "operator:test")

    code, out, err = cli("connection", "domains", "okta", "--set", "a.example, *.a.example")
    assert code == 0, err
    assert out.splitlines() == [
        "connection 'Okta' userName domains: *.a.example, a.example",
        "2 existing user(s) of this connection are outside these domains; they are not changed "
        "(the IdP may still update them, not rename them outside)",
    ]  # bob@other.example and cy@B.EXAMPLE; the deleted user is not counted
    okta = get_connection(live, "Okta")
    assert okta.domains == ("*.a.example", "a.example") and okta.user_count == 4
    assert [u for u in ("bob@other.example", "cy@B.EXAMPLE") if _user_name_kept(live, u)] == [
        "bob@other.example", "cy@B.EXAMPLE"
    ]  # fmt: skip

    listed = {c["name"]: c for c in _connections(cli)}
    assert listed["Okta"]["domains"] == ["*.a.example", "a.example"]
    assert listed["Partner"]["domains"] == ["a.example", "b.example"]
    code, out, _ = cli("connection", "list")
    lines = out.splitlines()
    okta_row = lines.index(next(line for line in lines if line.startswith("Okta ")))
    assert lines[okta_row + 1].strip() == "domains: *.a.example, a.example"
    code, out, _ = cli("connection", "show", "OKTA")
    assert code == 0 and out.splitlines()[1].split()[:5] == ["Okta", "okta", "no", "tokens", "4"]
    assert out.splitlines()[-1] == "userName domains: *.a.example, a.example"
    code, out, _ = cli("connection", "show", "Partner", "--json")
    shown = json.loads(out)
    assert (shown["name"], shown["domains"], shown["users"]) == (
        "Partner", ["a.example", "b.example"], 0,
    )  # fmt: skip

    code, out, err = cli("connection", "domains", "Okta", "--clear")
    assert (code, out) == (0, "connection 'Okta' userName domains: any (not limited)\n"), err
    assert get_connection(live, "Okta").domains == ()
    assert cli("connection", "domains", "Okta", "--clear")[0] == 0  # no change: not audited
    code, out, _ = cli("connection", "show", "Okta")
    assert out.splitlines()[-1] == "userName domains: any (not limited)"
    assert _connections(cli)[0]["domains"] is None  # Okta
    assert _audit(live, okta.id) == [
        ["connection.domains_changed", {"domains": None},
         {"domains": ["*.a.example", "a.example"]}],
        ["connection.domains_changed", {"domains": ["*.a.example", "a.example"]},
         {"domains": None}],
    ]  # fmt: skip
    partner = get_connection(live, "Partner")
    [created] = [
        e for e in audit_events(live, "connection", str(partner.id), 50)
        if e.action == "connection.created"
    ]  # fmt: skip
    assert created.after == {"name": "Partner", "kind": None, "domains": ["a.example", "b.example"]}


def _user_name_kept(live: Store, user_name: str) -> bool:
    with db_session:
        return live.db.User.get(user_name=user_name) is not None


def test_set_and_clear_together_are_refused_by_the_parser(
    cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("connection", "create", "Okta")[0] == 0
    for args, says in (
        (("--set", "a.example", "--clear"), "not allowed with argument"),
        ((), "one of the arguments --set --clear is required"),
    ):
        with pytest.raises(SystemExit) as refused:
            cli("connection", "domains", "Okta", *args)
        assert refused.value.code == 2
        assert says in capsys.readouterr().err
    [okta] = _connections(cli)
    assert okta["domains"] is None
