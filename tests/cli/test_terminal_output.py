"""What the CLI writes to a terminal, through the real ``trident-scim`` script on both
backends: IdP text is shown escaped (never as control sequences, never as a fake line),
``--json`` stays exact, and a reader that stops early (``| head``) gets no traceback."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from store.context import Store
from store.queries.tokens import list_tokens
from store.services.roles import ensure_default_roles, grant_role
from tests.cli.test_identity_commands import SCRIPT, script
from tests.store.identity_factories import make_user

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
SPOOF = f"Mallory{OSC52}\x1b[2K\r\nmallory@example.com  Mallory  inactive"
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _hostile_operator(store: Store) -> None:
    ensure_default_roles(store)
    make_user(store, "mallory@example.com", active=True, display_name=SPOOF)
    grant_role(store, "mallory@example.com", "operator", "operator:test")


def test_user_list_and_show_escape_osc52_and_a_fake_inactive_line(
    store: Store, config: Path
) -> None:
    _hostile_operator(store)
    listing = script(config, "user", "list")
    show = script(config, "user", "show", "mallory@example.com")
    for done in (listing, show):
        assert done.returncode == 0, done.stderr
        assert not FORBIDDEN.search(done.stdout), done.stdout
        assert "Mallory\\x1b]52;c;Y3Vy" in done.stdout and "\\x0d\\x0a" in done.stdout
        # the spoofed "inactive" line stays inside the one line of the real, active user
        lines = done.stdout.splitlines()
        assert not any(line.startswith("mallory@example.com  Mallory  inactive") for line in lines)
    rows = [line for line in listing.stdout.splitlines() if "mallory" in line]
    assert len(rows) == 1 and "  active  " in rows[0]
    assert show.stdout.splitlines()[0] == "mallory@example.com  (active)"


def test_json_output_round_trips_control_characters_exactly(store: Store, config: Path) -> None:
    _hostile_operator(store)
    listing = script(config, "user", "list", "--json")
    show = script(config, "user", "show", "mallory@example.com", "--json")
    for done in (listing, show):
        assert done.returncode == 0, done.stderr
        assert not FORBIDDEN.search(done.stdout)  # JSON escapes them: \u001b
    assert json.loads(listing.stdout)[0]["displayName"] == SPOOF
    assert json.loads(show.stdout)["displayName"] == SPOOF


def test_token_create_secret_is_the_only_stdout_line(store: Store, config: Path) -> None:
    done = subprocess.run(
        f"'{SCRIPT}' --config '{config}' token create 'Okta SCIM' | head -2",
        shell=True, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.startswith("tscim_") and len(done.stdout.splitlines()) == 1
    assert "shown once" in done.stderr and "Traceback" not in done.stderr
    assert [t.status for t in list_tokens(store)] == ["active"]


def _closed_stdout(config: Path, *args: str) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is already gone (as `| head` after it exits)."""
    proc = subprocess.Popen(
        [str(SCRIPT), "--config", str(config), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child has even started Python: its write fails
    err = proc.stderr.read()
    return proc.wait(timeout=60), err


def test_a_secret_nobody_could_read_is_revoked(store: Store, config: Path) -> None:
    code, err = _closed_stdout(config, "token", "create", "Okta SCIM")
    assert code != 0 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: the secret of token 'Okta SCIM'")
    assert [t.status for t in list_tokens(store)] == ["revoked"]
    again = script(config, "token", "create", "Okta SCIM")  # the name is free again
    assert again.returncode == 0, again.stderr


def test_listing_into_a_closed_pipe_exits_quietly(store: Store, config: Path) -> None:
    _hostile_operator(store)
    for i in range(30):
        make_user(store, f"user{i}@example.com")
    code, err = _closed_stdout(config, "user", "list")
    assert code == 141 and err == ""


def test_the_audit_actor_is_never_taken_from_logname_user_or_forged_sudo_variables(
    store: Store, config: Path
) -> None:
    import os
    import pwd

    from store.queries.identity import audit_events

    me = pwd.getpwuid(os.getuid()).pw_name
    forged = {**os.environ, "LOGNAME": "ciso", "USER": "ciso", "SUDO_USER": "ciso"}
    forged["SUDO_UID"] = str(os.getuid() + 1)
    ensure_default_roles(store)
    user_id = make_user(store, "jane@example.com")
    done = subprocess.run(
        [str(SCRIPT), "--config", str(config), "user", "deactivate", "jane@example.com"],
        capture_output=True, text=True, timeout=60, check=False, env=forged,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    actors = {e.actor for e in audit_events(store, "user", user_id, 10)}
    assert actors == {f"operator:{me}"}
