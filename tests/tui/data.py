"""A small, realistic store for the operator UI tests, snapshots and the tmux check.

Connections, users, groups, tokens, activity, sessions and job runs are written through the
store's use cases. Two IdP connections: "Okta" (token "Okta SCIM"), which owns every user
and group, and "Entra ID" (token "Entra ID"). Everything is deterministic given a FakeClock
and ``deterministic(store)``.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import timedelta

from store.context import Store
from store.domain.scope import Scope, of_connection
from store.errors import NotFound
from store.records import ActivityInput, GroupInput, SessionClient, UserInput
from store.services.activity import record_activity
from store.services.connections import create_connection, get_connection
from store.services.groups import create_group
from store.services.jobs import finish_run, start_run
from store.services.lease import acquire_lease
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import start_session
from store.services.tokens import authenticate, issue_token
from store.services.users import create_user
from tests.store.identity_factories import add_member as shared_add_member

IDP = "token:Okta SCIM"
OPERATOR = "operator:tester"
OKTA, ENTRA = "Okta", "Entra ID"
TOKENS = {"Okta SCIM": OKTA, "Entra ID": ENTRA}  # token name -> its connection
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def deterministic(store: Store) -> Store:
    """The store with counting ids and hash-derived random bytes (stable snapshots)."""
    ids = itertools.count(1)
    counter = itertools.count(1)

    def new_id() -> str:
        return f"{next(ids):08x}" + "0" * 24

    def random_bytes(n: int) -> bytes:
        seed = hashlib.sha256(f"tui-test-{next(counter)}".encode()).digest()
        return (seed * (n // len(seed) + 1))[:n]

    return replace(store, new_id=new_id, random_bytes=random_bytes)


@dataclass
class Seeded:
    users: dict[str, str] = field(default_factory=dict)  # userName -> id
    groups: dict[str, str] = field(default_factory=dict)  # group name -> id
    secrets: dict[str, str] = field(default_factory=dict)  # token name -> secret


PEOPLE = (
    ("alice@example.com", "Alice Adams", True),
    ("bob@example.com", "Bob Brown", False),
    ("carol@example.com", "Carol Chen", True),
    ("dave@example.com", "Dave Diaz", True),
    ("erin@example.com", "Erin Evans", True),
)


def connection_scope(store: Store, name: str = OKTA) -> Scope:
    """The scope of the connection ``name`` (made when first needed, kind from its name)."""
    try:
        found = get_connection(store, name)
    except NotFound:
        kind = {OKTA: "okta", ENTRA: "entra"}.get(name, "other")
        found = create_connection(store, name, kind, OPERATOR)
    return of_connection(found.id)


def make_user(
    store: Store, user_name: str, display_name: str, active: bool = True, connection: str = OKTA
) -> str:
    given, _, family = display_name.partition(" ")
    data = UserInput(
        user_name=user_name,
        document={"userName": user_name, "name": {"givenName": given, "familyName": family}},
        display_name=display_name,
        given_name=given,
        family_name=family,
        active=active,
    )
    record = create_user(store, data, IDP, scope=connection_scope(store, connection))
    return record.id


def make_group(store: Store, name: str, member_ids: list[str], connection: str = OKTA) -> str:
    data = GroupInput(display_name=name, document={})
    scope = connection_scope(store, connection)
    return create_group(store, data, tuple(member_ids), IDP, scope=scope).id


def add_member(store: Store, group_id: str, user_id: str) -> None:
    shared_add_member(store, group_id, user_id, IDP)


def seed(store: Store, clock: object) -> Seeded:
    """Roles, a mapping, five users in groups, tokens with usage, activity, sessions, jobs."""
    advance = clock.advance  # type: ignore[attr-defined]
    out = Seeded()
    ensure_default_roles(store)
    set_mapping(store, "Engineering", "operator", OPERATOR)
    set_mapping(store, "Viewers", "viewer", OPERATOR)
    for user_name, display_name, active in PEOPLE:
        out.users[user_name] = make_user(store, user_name, display_name, active)
    u = out.users
    out.groups["Engineering"] = make_group(
        store, "Engineering", [u["alice@example.com"], u["bob@example.com"]]
    )
    out.groups["Viewers"] = make_group(store, "Viewers", [u["carol@example.com"]])
    out.groups["Support"] = make_group(store, "Support", [u["dave@example.com"]])
    grant_role(store, "alice@example.com", "admin", OPERATOR)
    connection_scope(store, ENTRA)
    for name, connection in TOKENS.items():
        out.secrets[name] = issue_token(store, name, OPERATOR, connection=connection).secret
    _use_tokens(store, out, advance)
    start_session(store, "alice@example.com", "sso")  # from before addresses: "unknown"
    start_session(store, "alice@example.com", "sso", SessionClient("203.0.113.7", BROWSER))
    _activity(store)
    _jobs(store)
    advance(minutes=3)
    return out


def _use_tokens(store: Store, out: Seeded, advance: object) -> None:
    advance(hours=-2)  # type: ignore[operator]
    authenticate(store, f"Bearer {out.secrets['Entra ID']}", "10.0.0.9")
    advance(hours=2)  # type: ignore[operator]
    authenticate(store, f"Bearer {out.secrets['Okta SCIM']}", "10.0.0.8")


def _activity(store: Store) -> None:
    now = store.clock()
    rows = [
        ("GET", "/scim/v2/Users", 200, "", "", "", 12.0),
        ("POST", "/scim/v2/Users", 201, "", "", "", 31.0),
        ("PATCH", "/scim/v2/Groups/0000000a", 204, "", "", "", 18.0),
        ("GET", "/scim/v2/Users", 400, 'nickName eq "ali"', "invalidFilter",
         "filter attribute 'nickName' is not supported", 3.0),
    ]  # fmt: skip
    items = [
        ActivityInput(
            at=now - timedelta(seconds=60 * (len(rows) - i)),
            method=m,
            path=p,
            status=s,
            latency_ms=ms,
            token_id=1,
            token_name="Okta SCIM",
            connection=OKTA,
            client="10.0.0.8",
            query=q,
            scim_type=t,
            detail=d,
        )  # fmt: skip
        for i, (m, p, s, q, t, d, ms) in enumerate(rows)
    ]
    record_activity(store, items)


def _jobs(store: Store) -> None:
    acquire_lease(store, "worker", "ops-host:4242:ab12", 3600)
    for job in ("reconcile_roles", "expire_sessions"):
        run = start_run(store, job, "ops-host:4242:ab12")
        finish_run(store, run, "ok", changed=0, summary="nothing to repair")
