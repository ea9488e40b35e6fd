"""Every command that shows text from an IdP or a client, on SQLite and PostgreSQL, fed rows
holding escape sequences of every kind (CSI, OSC 8 hyperlinks, OSC 52, BEL, 8-bit C1
controls, bidi overrides, zero-width characters, line breaks) at the longest length their
column holds: the text output holds no raw control, format or separator character, and a
table row stays bounded (each cell cut to ``limits.SHOWN_CELL``); ``--json`` stays exact.

The name rules refuse such names now; rows written before those rules (or by another writer
of the database) may still hold them, so the rows are written straight to the tables.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain import limits
from store.records import ActivityInput, SessionClient
from store.services.activity import record_activity
from store.services.connections import create_connection
from store.services.jobs import finish_run, start_run
from store.services.lease import acquire_lease
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import start_session
from store.services.tokens import issue_token
from tests.cli.conftest import Run
from tests.hostile import SHOWN, assert_no_unsafe, hostile
from tests.store.identity_factories import make_group, make_user

ACTOR = "operator:test"
USER_NAME = hostile("mallory", limits.USER_NAME)
DISPLAY_NAME = hostile("Mallory", limits.DISPLAY_NAME)
GROUP = hostile("Ops", limits.DISPLAY_NAME)
CONNECTION = hostile("Okta", limits.TOKEN_NAME)
TOKEN = hostile("tok", limits.TOKEN_NAME)
ACTOR_TEXT = hostile("operator:", limits.ACTOR)
AGENT = hostile("Firefox", limits.USER_AGENT)
DETAIL = hostile("bad", limits.DETAIL)


def seed(store: Store) -> str:
    """A user (with group, IdP and manual roles, a session, a hold and audit events), two
    connections with tokens, a mapping, request-log entries and a job run, every name and
    text hostile. Returns the user's id."""
    ensure_default_roles(store)
    user_id = make_user(store, "mallory@example.com", display_name="Mallory")
    make_group(store, "Ops", (user_id,))
    set_mapping(store, "Ops", "viewer", ACTOR)
    grant_role(store, user_id, "admin", ACTOR, by_id=True)
    start_session(store, "mallory@example.com", ACTOR, SessionClient("203.0.113.7", "Firefox"))
    create_connection(store, "Entra", "entra", ACTOR)
    create_connection(store, "Okta", "okta", ACTOR)
    created = issue_token(store, "tok", ACTOR, connection="Okta").record
    now = store.clock()
    record_activity(store, [ActivityInput(
        at=now - timedelta(seconds=5), method="GET",
        path=hostile("/scim/v2/Users", limits.REQUEST_PATH), status=400, latency_ms=2.0,
        token_id=created.id, token_name=TOKEN, connection=CONNECTION, client="10.0.0.7",
        query=hostile("filter=", limits.REQUEST_QUERY), scim_type="invalidFilter",
        detail=DETAIL, user_agent=AGENT,
    )])  # fmt: skip
    run = start_run(store, "expire_sessions", "ops-host")
    finish_run(store, run, "error", error=hostile("boom", limits.JOB_ERROR))
    acquire_lease(store, "worker", hostile("host", limits.HOLDER), 3600)
    with db_session:
        db = store.db
        rewritten = (db.Group, db.RoleAssignment, db.GroupRoleMapping, db.ScimToken,
                     db.Session, db.AuditEvent, db.Role)  # fmt: skip
        empty = [entity.__name__ for entity in rewritten if not entity.select().exists()]
        assert not empty, f"the seed holds no {empty} rows to make hostile"
        user = db.User[user_id]
        user.user_name, user.display_name = USER_NAME, DISPLAY_NAME
        user.held_at, user.idp_active = now, True
        user.held_by, user.hold_reason = ACTOR_TEXT, hostile("why", limits.HOLD_REASON)
        for group in db.Group.select():
            group.display_name = GROUP
        for assignment in db.RoleAssignment.select():
            assignment.granted_by = ACTOR_TEXT
            if assignment.via_group:
                assignment.via_group = GROUP
        for mapping in db.GroupRoleMapping.select():
            mapping.group_name, mapping.created_by = GROUP, ACTOR_TEXT
        for token in db.ScimToken.select():
            token.name, token.created_by = TOKEN, ACTOR_TEXT
        db.ScimToken.get(id=created.id).connection.name = CONNECTION
        for session in db.Session.select():
            session.user_agent = AGENT
        for event in db.AuditEvent.select():
            event.actor, event.detail = ACTOR_TEXT, DETAIL
        for role in db.Role.select():
            role.description = hostile("role", limits.ROLE_DESCRIPTION)
    return user_id


TABLES = {  # a command, and the columns of its table
    ("user", "list"): 5,
    ("connection", "list"): 6,
    ("connection", "transfer", "--from", "default", "--to", "Entra", "--dry-run"): 3,
    ("token", "list"): 8,
    ("role", "list"): 2,
    ("mapping", "list"): 4,
    ("mapping", "preview", "--add", "ops", "operator"): 3,
    ("session", "list", "--id", "{user}"): 6,
    ("activity",): 9,
    ("worker", "status"): 5,
}
SENTENCES = [("user", "show", "--id", "{user}")]


@pytest.mark.parametrize("command", [*TABLES, *SENTENCES], ids=" ".join)
def test_text_output_holds_no_control_character_and_stays_bounded(
    cli: Run, live: Store, command: tuple[str, ...]
) -> None:
    user_id = seed(live)
    code, out, err = cli(*(arg.format(user=user_id) for arg in command))
    assert code == 0, err
    assert_no_unsafe(out)
    assert_no_unsafe(err)
    assert SHOWN in out  # shown, escaped
    lines = out.splitlines()
    if command in TABLES:  # one row per record, each cell cut to a readable width
        widest = max(len(line) for line in lines)
        assert widest <= TABLES[command] * (limits.SHOWN_CELL + 2), widest
        assert "…" in out
    else:  # a record's detail shows each value whole, escaped, on its own line
        assert max(len(line) for line in lines) <= 10 * limits.DISPLAY_NAME


def test_user_show_names_the_idp_group_of_a_role_escaped(cli: Run, live: Store) -> None:
    user_id = seed(live)
    code, out, _ = cli("user", "show", "--id", user_id)
    assert code == 0
    (viewer,) = [line for line in out.splitlines() if line.strip().startswith("viewer")]
    assert "via IdP group Ops\\x1b[2J" in viewer
    (admin,) = [line for line in out.splitlines() if line.strip().startswith("admin")]
    assert "by operator:\\x1b[2J" in admin


def test_json_keeps_the_hostile_values_whole(cli: Run, live: Store) -> None:
    user_id = seed(live)
    code, out, _ = cli("user", "show", "--id", user_id, "--json")
    assert code == 0 and "\x1b" not in out
    shown = json.loads(out)
    assert (shown["userName"], shown["displayName"]) == (USER_NAME, DISPLAY_NAME)
    assert {r["group"] for r in shown["roles"]} >= {GROUP}
    code, out, _ = cli("activity", "--json")
    assert code == 0 and json.loads(out)[0]["detail"] == DETAIL
