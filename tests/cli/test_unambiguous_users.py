"""Operators' commands address exactly one user: an argument that is one user's id and
another user's userName is refused with both listed, and ``--id ID`` addresses by id alone.
An IdP may choose any userName, ids are visible to every token: a look-alike whose userName
is the victim's id must never receive the victim's deactivation or role grant."""

from __future__ import annotations

import json
from pathlib import Path

from store.context import Store
from store.queries.identity import user_detail
from store.records import UserInput
from store.services.users import replace_user
from tests.cli.conftest import Run
from tests.cli.test_identity_commands import script
from tests.store.identity_factories import make_user, roles_of


def _victim_and_lookalike(store: Store) -> tuple[str, str]:
    victim = make_user(store, "victim@example.com")
    lookalike = make_user(store, victim)  # the IdP named it after the victim's id
    return victim, lookalike


def test_an_id_that_is_another_users_username_is_refused(cli: Run, live: Store) -> None:
    victim, lookalike = _victim_and_lookalike(live)
    for args in (
        ("user", "deactivate", victim),
        ("user", "reactivate", victim),
        ("user", "show", victim),
        ("role", "grant", victim, "admin"),
        ("role", "revoke", victim, "admin"),
    ):
        code, out, err = cli(*args)
        assert code == 2, (args, out, err)
        [line] = err.strip().splitlines()
        assert line.startswith("error: ") and "two users" in line
        assert victim in line and lookalike in line and "victim@example.com" in line
        assert "--id" in line
    assert user_detail(live, victim, by_id=True).user.active
    assert user_detail(live, lookalike, by_id=True).user.active
    assert roles_of(live, victim) == set() and roles_of(live, lookalike) == set()


def test_id_option_addresses_the_user_by_id(cli: Run, live: Store) -> None:
    victim, lookalike = _victim_and_lookalike(live)
    code, out, _ = cli("role", "grant", "--id", victim, "admin")
    assert code == 0, out
    assert roles_of(live, victim) == {("admin", "manual")}
    assert roles_of(live, lookalike) == set()
    code, out, _ = cli("user", "deactivate", "--id", victim)
    assert code == 0, out
    assert not user_detail(live, victim, by_id=True).user.active
    assert user_detail(live, lookalike, by_id=True).user.active
    code, out, _ = cli("user", "show", "--id", victim, "--json")
    assert code == 0 and '"userName": "victim@example.com"' in out
    # The look-alike is still reachable by its own id, and by its name through --id-free use
    # only where that name is nobody else's id.
    code, out, _ = cli("user", "show", "--id", lookalike)
    assert code == 0 and lookalike in out
    code, _, err = cli("user", "show", "--id", "nobody")
    assert code == 2 and "not found" in err
    code, _, err = cli("user", "show", victim, "--id", victim)
    assert code == 2 and "USER or --id" in err


def test_ambiguity_is_shown_escaped(cli: Run, live: Store) -> None:
    victim = make_user(live, "evil\x1b[2J\u202e\n@example.com")
    make_user(live, victim)
    code, _, err = cli("role", "grant", victim, "admin")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "\x1b" not in err and "\u202e" not in err
    assert "evil\\x1b[2J\\u202e\\x0a@example.com" in err  # escaped, readable


def test_console_script_refuses_an_ambiguous_id(config: Path, live: Store) -> None:
    assert script(config, "db", "init").returncode == 0
    victim, lookalike = _victim_and_lookalike(live)
    done = script(config, "role", "grant", victim, "admin")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert victim in done.stderr and lookalike in done.stderr
    done = script(config, "role", "grant", "--id", victim, "admin")
    assert done.returncode == 0, done.stderr
    assert roles_of(live, victim) == {("admin", "manual")} and roles_of(live, lookalike) == set()


def test_user_show_reports_a_rename_that_suspended_manual_roles(cli: Run, live: Store) -> None:
    jane = make_user(live, "jane\x1b[31m@example.com")  # stored before names were checked
    assert cli("role", "grant", "--id", jane, "admin")[0] == 0
    replace_user(live, jane, UserInput("mallory@example.com", {}), "token:Okta SCIM")
    code, out, _ = cli("user", "show", "--id", jane)
    assert code == 0
    assert "admin        suspended" in out and "not in effect" in out
    assert "RENAMED" in out and "'jane\\x1b[31m@example.com' -> 'mallory@example.com'" in out
    assert "\x1b" not in out.split("RENAMED", 1)[1].splitlines()[0]
    code, out, _ = cli("user", "show", "--id", jane, "--json")
    data = json.loads(out)
    assert data["roles"][0]["name"] == "admin" and data["roles"][0]["source"] == "suspended"
    [rename] = data["renames"]
    assert rename["from"] == "jane\x1b[31m@example.com" and rename["to"] == "mallory@example.com"
    assert rename["manual_roles"] == ["admin"] and rename["actor"] == "token:Okta SCIM"


def test_deactivate_holds_and_show_reports_the_hold(cli: Run, live: Store) -> None:
    jane = make_user(live, "jane@example.com")
    code, out, _ = cli("user", "deactivate", "--id", jane, "--reason", "laptop stolen")
    assert code == 0 and "held" in out
    replace_user(live, jane, UserInput("jane@example.com", {}, active=True), "token:Okta SCIM")
    code, out, _ = cli("user", "show", "jane@example.com", "--json")
    data = json.loads(out)
    assert data["active"] is False
    assert data["hold"]["reason"] == "laptop stolen" and data["hold"]["idp_active"] is True
    assert data["hold"]["by"].startswith("operator:") and data["hold"]["since"].endswith("Z")
    assert "user.hold_kept" in [e["action"] for e in data["audit"]]
    code, out, _ = cli("user", "show", "jane@example.com")
    assert "(inactive, operator hold)" in out and "the IdP says: active" in out
    assert cli("user", "reactivate", "jane@example.com")[0] == 0
    code, out, _ = cli("user", "show", "jane@example.com", "--json")
    assert json.loads(out)["hold"] is None and json.loads(out)["active"] is True
