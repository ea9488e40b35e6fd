"""Actors of the offboarding end-to-end tests, over the real server of ``tests/e2e/conftest``:

- ``Idp``: an identity provider speaking one dialect of IDP_QUIRKS.md over HTTP with its own
  token (high rate limit), so the audit trail names it as ``token:<name>``;
- ``Operator``: the Control operator, through the real ``trident-scim`` commands (in-process);
- ``browser``: Control's web tier asking ``GET /auth/session`` with the session cookie.

Only HTTP and the CLI: nothing here reaches into the server or the store behind its back.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from cli.main import main
from store.services.roles import ensure_default_roles
from store.services.tokens import issue_token
from tests.e2e.conftest import Client, LiveServer, Reply

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

Body = dict[str, Any]


def ops(*operations: Body, schemas: bool = True) -> Body:
    body: Body = {"Operations": list(operations)}
    if schemas:
        body["schemas"] = [PATCH]
    return body


# ---- the dialects -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What one IdP sends for the steps of the offboarding story (IDP_QUIRKS.md)."""

    name: str
    agent: str
    token_name: str
    user: Callable[[str, str], Body]  # (userName, externalId) -> create body
    group: Callable[[str, str | None], Body]  # (displayName, first member id) -> create body
    add: Callable[[str, str, str], Body]  # (group id, displayName, user id) -> group PATCH
    remove: Callable[[str, str, str], Body]
    active: Callable[[bool], Body]  # user PATCH that (de)activates
    members_in_create: bool = False  # JumpCloud: empty groups are not pushed


def _okta_user(user_name: str, external_id: str) -> Body:
    return {
        "schemas": [USER], "userName": user_name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Jane Doe", "locale": "en-US", "externalId": external_id,
        "groups": [], "password": "1mz050nq", "active": True,
    }  # fmt: skip


def _okta_rename(group_id: str, name: str) -> Body:
    # Okta re-sends the group's name, carrying its id inside value, with every membership update
    return {"op": "replace", "value": {"id": group_id, "displayName": name}}


OKTA = Dialect(
    name="okta",
    agent="Okta SCIM Client 1.0.0",
    token_name="Okta SCIM",
    user=_okta_user,
    group=lambda name, _first: {"schemas": [GROUP], "displayName": name, "members": []},
    add=lambda gid, name, uid: ops(
        _okta_rename(gid, name),
        {"op": "add", "path": "members", "value": [{"value": uid, "display": "member"}]},
    ),
    remove=lambda gid, name, uid: ops(
        _okta_rename(gid, name), {"op": "remove", "path": f'members[value eq "{uid}"]'}
    ),
    active=lambda on: ops({"op": "replace", "value": {"active": on}}),
)


def _entra_user(user_name: str, external_id: str) -> Body:
    return {
        "schemas": [USER, ENTERPRISE], "externalId": external_id, "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Jane Doe", "familyName": "Doe", "givenName": "Jane"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Engineering"},
    }  # fmt: skip


def _entra_group(name: str, _first: str | None) -> Body:
    return {"schemas": [GROUP, ENTRA_GROUP], "displayName": name, "externalId": str(uuid.uuid4())}


ENTRA = Dialect(
    name="entra",
    agent="Microsoft Entra ID provisioning (test client)",
    token_name="Entra SCIM",
    user=_entra_user,
    group=_entra_group,
    add=lambda _gid, _name, uid: ops(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": uid}]}, schemas=False
    ),
    remove=lambda _gid, _name, uid: ops(
        {"op": "Remove", "path": "members", "value": [{"value": uid}]}, schemas=False
    ),
    active=lambda on: ops(
        {"op": "Replace", "path": "active", "value": "True" if on else "False"}, schemas=False
    ),
)

ENTRA_062020 = Dialect(
    name="entra-aadOptscim062020",
    agent="Microsoft Entra ID provisioning (test client)",
    token_name="Entra SCIM 062020",
    user=_entra_user,
    group=_entra_group,
    add=lambda _gid, _name, uid: ops({"op": "add", "path": "members", "value": [{"value": uid}]}),
    remove=lambda _gid, _name, uid: ops({"op": "remove", "path": f'members[value eq "{uid}"]'}),
    active=lambda on: ops({"op": "replace", "path": "active", "value": on}),
)


def _jumpcloud_group(name: str, first: str | None) -> Body:
    return {"schemas": [GROUP], "displayName": name, "members": [{"value": first}]}


JUMPCLOUD = Dialect(
    name="jumpcloud",
    agent="JumpCloud SCIM (test client)",
    token_name="JumpCloud SCIM",
    user=lambda user_name, external_id: {
        "schemas": [USER],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": user_name, "primary": True}],
        "active": True,
    },  # fmt: skip
    group=_jumpcloud_group,
    add=lambda _gid, _name, uid: ops({"op": "add", "path": "members", "value": [{"value": uid}]}),
    remove=lambda _gid, _name, uid: ops(
        {"op": "remove", "path": "members", "value": [{"value": uid}]}
    ),
    active=lambda on: ops({"op": "replace", "path": "active", "value": on}),
    members_in_create=True,
)

DIALECTS = {d.name: d for d in (OKTA, ENTRA, ENTRA_062020, JUMPCLOUD)}


# ---- the IdP ------------------------------------------------------------------------------


class Idp:
    """One IdP connection speaking ``dialect``; every call asserts the status the IdP needs."""

    def __init__(self, live: LiveServer, dialect: Dialect, token: str) -> None:
        self.dialect = dialect
        self.actor = f"token:{dialect.token_name}"
        self.http: Client = live.client(dialect.agent, token=token)

    def find(self, user_name: str) -> list[Body]:
        reply = self.http.get("/Users", params={"filter": f'userName eq "{user_name}"'})
        assert reply.status == 200, reply.raw
        return list(reply.json["Resources"])

    def create_user(self, user_name: str, external_id: str) -> Body:
        assert self.find(user_name) == []  # every IdP looks the user up before creating it
        reply = self.http.post("/Users", self.dialect.user(user_name, external_id))
        assert reply.status == 201, reply.raw
        return dict(reply.json)

    def push_group(self, name: str, member_id: str) -> str:
        """Create the group and make ``member_id`` a member, as this IdP does it."""
        first = member_id if self.dialect.members_in_create else None
        reply = self.http.post("/Groups", self.dialect.group(name, first))
        assert reply.status == 201, reply.raw
        group_id = str(reply.json["id"])
        if not self.dialect.members_in_create:
            self.add(group_id, name, member_id)
        return group_id

    def add(self, group_id: str, name: str, user_id: str) -> Reply:
        reply = self.http.patch(f"/Groups/{group_id}", self.dialect.add(group_id, name, user_id))
        assert reply.status == 204, reply.raw
        return reply

    def remove(self, group_id: str, name: str, user_id: str) -> Reply:
        body = self.dialect.remove(group_id, name, user_id)
        reply = self.http.patch(f"/Groups/{group_id}", body)
        assert reply.status == 204, reply.raw
        return reply

    def set_active(self, user_id: str, active: bool) -> Body:
        reply = self.http.patch(f"/Users/{user_id}", self.dialect.active(active))
        assert reply.status == 200, reply.raw
        assert reply.json["active"] is active
        return dict(reply.json)

    def members(self, group_id: str) -> set[str]:
        reply = self.http.get(f"/Groups/{group_id}")
        assert reply.status == 200, reply.raw
        return {m["value"] for m in reply.json.get("members", [])}


@pytest.fixture
def idp(live: LiveServer) -> Iterator[Callable[[Dialect], Idp]]:
    """Connect an IdP of some dialect; each dialect gets its own token (high rate limit)."""
    made: list[Idp] = []

    def connect(dialect: Dialect) -> Idp:
        token = live.token  # the live server's token is called "Okta SCIM"
        if dialect.token_name != OKTA.token_name:
            token = issue_token(live.store, dialect.token_name, "operator:test",
                                rate_limit=1_000_000).secret  # fmt: skip
        made.append(Idp(live, dialect, token))
        return made[-1]

    yield connect
    for one in made:
        one.http.close()


# ---- the operator -------------------------------------------------------------------------


class Operator:
    """The Control operator, through ``trident-scim`` on the server's database."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config = config
        self.capsys = capsys

    def run(self, *args: str, expect: int = 0) -> str:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        assert code == expect, (args, code, out, err)
        return out + err

    def map(self, group: str, role: str) -> None:
        self.run("mapping", "set", group, role)

    def unmap(self, group: str, role: str) -> None:
        self.run("mapping", "remove", group, role)

    def grant(self, user_name: str, role: str) -> None:
        self.run("role", "grant", user_name, role)

    def start_session(self, user_name: str) -> str:
        """Sign the user in; returns the cookie value (the command's last line)."""
        return self.run("session", "start", user_name).strip().splitlines()[-1]

    def show(self, user: str) -> Body:
        """``trident-scim user show USER --json``: roles, groups, sessions, audit."""
        return dict(json.loads(self.run("user", "show", user, "--json", "--events", "200")))


@pytest.fixture
def operator(live: LiveServer, store_url: str, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> Operator:  # fmt: skip
    ensure_default_roles(live.store)  # what `db init` seeds: admin, operator, viewer
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{store_url}"\n\n[api]\npublic_url = "{live.url}"\n')
    return Operator(config, capsys)


MAPPED_OPERATOR = ("operator", "idp", "Engineering")
"""The role the operator's mapping gives through the IdP group Engineering."""
VIEWER_MANUAL = ("viewer", "manual", None)
"""A role granted by hand in Control, which sync never touches."""


def roles_of(shown: Body) -> set[tuple[str, str, str | None]]:
    """(role, source, IdP group as mapped) of a ``user show --json`` document."""
    return {(r["name"], r["source"], r["group"]) for r in shown["roles"]}


def events(shown: Body, action: str) -> list[Body]:
    return [e for e in shown["audit"] if e["action"] == action]


# ---- the browser --------------------------------------------------------------------------


def browser(live: LiveServer, cookie: str, cookie_name: str = "control_session") -> Reply:
    """What Control's web tier (or nginx ``auth_request``) asks on the browser's request."""
    parts = urlsplit(live.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", "/auth/session", headers={"Cookie": f"{cookie_name}={cookie}"})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     response.read())  # fmt: skip
    finally:
        conn.close()


def signed_in(live: LiveServer, cookie: str, user_name: str) -> list[str]:
    """Assert the cookie is a live session of ``user_name``; returns its roles."""
    reply = browser(live, cookie)
    assert reply.status == 200, reply.raw
    assert reply.json["user"] == user_name
    roles = list(reply.json["roles"])
    assert reply.header("x-auth-roles") == ",".join(roles)
    return roles


def signed_out(live: LiveServer, cookie: str) -> Body:
    """Assert the cookie is refused with the way back to the sign-in page."""
    reply = browser(live, cookie)
    assert reply.status == 401, (reply.status, reply.raw)
    sign_in = live.store.settings.sessions.sign_in_url
    assert reply.header("location") == sign_in
    assert reply.json["signIn"] == sign_in and "x-auth-user" not in reply.headers
    return dict(reply.json)
