"""The token, mapping, role, user and session commands end to end, on SQLite and PostgreSQL:
in-process through ``cli.main.main`` and as the real ``trident-scim`` console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from store.context import Store
from store.queries.tokens import list_tokens
from store.services.sessions import check_session
from store.services.tokens import authenticate
from tests.cli.conftest import Run
from tests.store.identity_factories import make_group, make_user, roles_of
from tests.store.test_tokens import dump_database

SCRIPT = Path(sys.executable).parent / "trident-scim"


def script(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "--config", str(config), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_token_create_list_revoke(cli: Run, live: Store) -> None:
    code, out, err = cli("token", "create", "Okta SCIM", "--rate-limit", "120")
    assert code == 0
    lines = out.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("tscim_") and " " not in secret
    assert lines == [secret] and "shown once" in err  # stdout holds the secret alone
    assert "https://scim.example.test/scim/v2" in err
    assert authenticate(live, f"Bearer {secret}", "10.9.0.1").ok
    assert secret not in dump_database(live)

    code, out, _ = cli("token", "list", "--json")
    [listed] = json.loads(out)
    assert listed["name"] == "Okta SCIM" and listed["status"] == "active"
    assert listed["prefix"] == secret[:10] and listed["rate_limit"] == 120
    assert listed["last_used"] is not None and listed["created_by"].startswith("operator:")
    assert secret not in out
    code, out, _ = cli("token", "list")
    assert "Okta SCIM" in out and "120/min" in out and secret not in out

    code, _, err = cli("token", "create", "okta scim")
    assert code == 2 and err.startswith("error:") and "already exists" in err
    code, _, err = cli("token", "create", "x", "--rate-limit", "0")
    assert code == 2 and "rate limit" in err

    code, out, _ = cli("token", "revoke", "OKTA SCIM")
    assert code == 0 and "revoked" in out
    assert authenticate(live, f"Bearer {secret}", "10.9.0.1").reason == "revoked"
    code, _, err = cli("token", "revoke", "Okta SCIM")
    assert code == 2 and "no active token" in err
    assert [t.status for t in list_tokens(live)] == ["revoked"]


def test_token_limit(cli: Run, live: Store) -> None:
    cli("token", "create", "Entra")
    code, out, _ = cli("token", "limit", "Entra", "1500")
    assert code == 0 and "1500" in out
    assert list_tokens(live)[0].rate_limit == 1500
    assert cli("token", "limit", "Entra", "default")[0] == 0
    assert list_tokens(live)[0].rate_limit is None
    code, _, err = cli("token", "limit", "Entra", "lots")
    assert code == 2 and err.startswith("error:")


def test_roles_and_mappings(cli: Run, live: Store) -> None:
    jane = make_user(live, "jane@example.com")
    make_group(live, "Engineering", members=(jane,))
    code, out, _ = cli("role", "list", "--json")
    assert [r["name"] for r in json.loads(out)] == ["admin", "operator", "viewer"]
    assert cli("role", "create", "auditor", "--description", "reads the audit log")[0] == 0

    code, out, _ = cli("mapping", "preview", "--add", "engineering", "auditor", "--json")
    assert json.loads(out) == [
        {"userName": "jane@example.com", "role": "auditor", "change": "gain"}
    ]
    assert roles_of(live, jane) == set()

    code, out, err = cli("mapping", "set", "ENGINEERING", "auditor")
    assert code == 0 and "ENGINEERING" in out
    assert "IdP roles recomputed: 1/1 user(s)" in err
    assert roles_of(live, jane) == {("auditor", "idp")}
    code, out, _ = cli("mapping", "list", "--json")
    assert [(m["group"], m["role"]) for m in json.loads(out)] == [("ENGINEERING", "auditor")]
    code, _, err = cli("mapping", "set", "Engineering", "nosuchrole")
    assert code == 2 and "unknown role" in err

    assert cli("role", "grant", "JANE@example.com", "auditor")[0] == 0
    assert roles_of(live, jane) == {("auditor", "idp"), ("auditor", "manual")}
    assert cli("role", "revoke", "jane@example.com", "auditor")[0] == 0
    code, _, err = cli("role", "revoke", "jane@example.com", "auditor")
    assert code == 2 and "ENGINEERING" in err and "mapping" in err
    assert roles_of(live, jane) == {("auditor", "idp")}

    code, out, _ = cli("mapping", "remove", "engineering", "auditor")
    assert code == 0 and roles_of(live, jane) == set()
    code, out, _ = cli("mapping", "remove", "engineering", "auditor")
    assert code == 0 and "nothing changed" in out
    code, _, err = cli("role", "grant", "nobody", "viewer")
    assert code == 2 and "not found" in err


def test_user_show_list_deactivate_reactivate(cli: Run, live: Store) -> None:
    jane = make_user(live, "Jane@Example.com", display_name="Jane Doe")
    make_user(live, "john@example.com")
    make_group(live, "Ops", members=(jane,))
    cli("mapping", "set", "ops", "operator")
    cli("role", "grant", "jane@example.com", "viewer")
    code, out, _ = cli("session", "start", "jane@example.com")
    cookie = out.strip().splitlines()[-1]
    assert code == 0 and check_session(live, cookie).valid

    code, out, _ = cli("user", "show", "jane@example.com", "--json")
    shown = json.loads(out)
    assert shown["id"] == jane and shown["userName"] == "Jane@Example.com"
    assert shown["active"] is True and shown["groups"] == ["Ops"]
    assert [(r["name"], r["source"], r["group"]) for r in shown["roles"]] == [
        ("operator", "idp", "ops"),
        ("viewer", "manual", None),
    ]
    assert shown["active_sessions"] == 1
    assert "session.started" in [e["action"] for e in shown["audit"]]

    code, out, _ = cli("user", "list", "--json", "--search", "JANE")
    assert [u["userName"] for u in json.loads(out)] == ["Jane@Example.com"]
    code, out, _ = cli("user", "list")
    assert "Jane@Example.com" in out and "john@example.com" in out

    code, out, _ = cli("user", "deactivate", "jane@example.com", "--reason", "left the company")
    assert code == 0 and "deactivated" in out
    assert not check_session(live, cookie).valid
    shown = json.loads(cli("user", "show", "jane@example.com", "--json")[1])
    assert shown["active"] is False and shown["active_sessions"] == 0
    assert [(r["name"], r["source"]) for r in shown["roles"]] == [("viewer", "manual")]
    deactivated = [e for e in shown["audit"] if e["action"] == "user.deactivated"]
    assert "left the company" in deactivated[0]["detail"]
    assert deactivated[0]["actor"].startswith("operator:")
    code, _, err = cli("session", "start", "jane@example.com")
    assert code == 2 and "inactive" in err

    assert cli("user", "reactivate", "jane@example.com")[0] == 0
    assert roles_of(live, jane) == {("viewer", "manual"), ("operator", "idp")}
    code, out, _ = cli("user", "show", "jane@example.com")
    assert "operator" in out and "via IdP group ops" in out and "(active)" in out
    code, _, err = cli("user", "show", "nobody")
    assert code == 2 and "not found" in err


def test_session_start_and_end(cli: Run, live: Store) -> None:
    make_user(live, "jane")
    cookies = [cli("session", "start", "jane")[1].strip().splitlines()[-1] for _ in range(2)]
    assert all(c.startswith("tcs_") and check_session(live, c).valid for c in cookies)
    code, out, _ = cli("session", "end", "JANE")
    assert code == 0 and "2 session(s)" in out
    assert not any(check_session(live, c).valid for c in cookies)
    code, _, err = cli("session", "start", "nobody")
    assert code == 2 and err.startswith("error:")


def test_console_script_end_to_end(config: Path, live: Store) -> None:
    """The installed ``trident-scim`` as an operator or a script runs it."""
    assert script(config, "db", "init").returncode == 0
    created = script(config, "token", "create", "JumpCloud")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert authenticate(live, f"Bearer {secret}", "10.9.0.2").ok
    listed = script(config, "token", "list", "--json")
    assert json.loads(listed.stdout)[0]["name"] == "JumpCloud" and secret not in listed.stdout
    make_user(live, "jane")
    started = script(config, "session", "start", "jane")
    cookie = started.stdout.strip().splitlines()[-1]
    assert check_session(live, cookie).valid
    shown = script(config, "user", "show", "jane", "--json")
    assert json.loads(shown.stdout)["active_sessions"] == 1
    failed = script(config, "role", "grant", "jane", "nosuchrole")
    assert failed.returncode == 2 and failed.stderr.startswith("error:")
    assert "Traceback" not in failed.stderr
    revoked = script(config, "token", "revoke", "JumpCloud")
    assert revoked.returncode == 0
    assert authenticate(live, f"Bearer {secret}", "10.9.0.2").reason == "revoked"
