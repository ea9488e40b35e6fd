"""Two IdP connections on one real server (waitress on 127.0.0.1, both backends): each
token sees and changes only its own connection's users and groups; another connection's
resource answers exactly like one that never existed, for every verb, list, filter and
search. A userName held elsewhere is 409 with nothing about the holder; the Okta/Entra group
collision of the connections issue keeps every member and role; a transfer lets the new IdP
find and PATCH the users with manual roles intact; a token rotates with no failed request."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from pony.orm import db_session

from store.queries.identity import user_roles
from store.services.connections import transfer_connection
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.tokens import issue_token, revoke_token, rotate_token
from tests.e2e.conftest import Client, LiveServer, Reply, error_of
from tests.support import wait_until

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"
OPERATOR = "operator:test"


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, "active": True, **extra}


def _group(name: str, members: list[str]) -> dict[str, Any]:
    return {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}


def _ops(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


def _idp(live: LiveServer, name: str, agent: str = "Okta SCIM Client 1.0.0") -> Client:
    """A client with a token issued the one-line way: a connection of the token's name."""
    return live.client(agent, issue_token(live.store, name, OPERATOR, 10**6).secret)


def _entra(live: LiveServer) -> Client:
    return _idp(live, "Entra ID", "Azure AD SCIM")


def _created(reply: Reply) -> dict[str, Any]:
    assert reply.status == 201, reply.raw[:500]
    return reply.json  # type: ignore[no-any-return]


def _without_ids(text: str) -> str:
    """An error detail with the ids and request id it names blanked out."""
    return re.sub(r"[0-9a-f]{32}", "ID", text)


def _same_as_unknown(found: Reply, unknown: Reply) -> None:
    """``found`` (another connection's resource) is indistinguishable from ``unknown`` (an
    id never issued): status, scimType and detail (ids blanked) are the same."""
    assert found.status == unknown.status, (found.status, found.raw[:300])
    if unknown.raw:
        assert found.json.get("scimType") == unknown.json.get("scimType")
        assert _without_ids(found.json["detail"]) == _without_ids(unknown.json["detail"])


def _total(client: Client, path: str, **params: str) -> int:
    reply = client.get(path, params=params or None)
    assert reply.status == 200, reply.raw[:300]
    return int(reply.json["totalResults"])


def _search_total(client: Client, path: str, body: dict[str, Any]) -> int:
    reply = client.post(path, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                               **body})  # fmt: skip
    assert reply.status == 200, reply.raw[:300]
    return int(reply.json["totalResults"])


def test_another_connections_users_and_groups_do_not_exist_for_a_token(live: LiveServer) -> None:
    okta, entra = _idp(live, "Okta"), _entra(live)
    jane = _created(okta.post("/Users", _user("jane@example.com", externalId="00u1")))
    team = _created(okta.post("/Groups", _group("Engineering", [jane["id"]])))
    mine = _created(entra.post("/Users", _user("ed@example.com")))
    version = okta.get(f"/Users/{jane['id']}").json["meta"]["version"]

    for kind, theirs in (("Users", jane["id"]), ("Groups", team["id"])):
        body = _user("x@example.com") if kind == "Users" else _group("X", [])
        off = _ops({"op": "replace", "path": "active", "value": False})
        if kind == "Groups":
            off = _ops({"op": "add", "path": "members", "value": [{"value": mine["id"]}]})
        for method, payload in (("GET", None), ("PUT", body), ("PATCH", off), ("DELETE", None)):
            found = entra.request(method, f"/{kind}/{theirs}", payload)
            unknown = entra.request(method, f"/{kind}/{UNKNOWN_ID}", payload)
            assert found.status == 404, (method, kind, found.raw[:200])
            _same_as_unknown(found, unknown)

    # Lists, filters, paging totals and every search endpoint count only Entra's own.
    assert _total(entra, "/Users") == 1 and _total(entra, "/Groups") == 0
    assert _total(entra, "/Users", count="0") == 1
    for attribute, value in (("userName", "jane@example.com"), ("externalId", "00u1"),
                             ("id", jane["id"]), ("userName", "JANE@EXAMPLE.COM")):  # fmt: skip
        assert _total(entra, "/Users", filter=f'{attribute} eq "{value}"') == 0
    assert _total(entra, "/Users", filter='userName sw "j"') == 0
    assert _total(entra, "/Groups", filter='displayName eq "Engineering"') == 0
    assert _total(entra, "/Groups", filter=f'members.value eq "{jane["id"]}"') == 0
    assert _search_total(entra, "/Users/.search", {"filter": 'userName eq "jane@example.com"'}) == 0
    assert _search_total(entra, "/Groups/.search", {}) == 0
    assert _search_total(entra, "/.search", {}) == 1  # Entra's own user only
    assert _search_total(entra, "/.search", {"filter": f'id eq "{jane["id"]}"'}) == 0
    # ... and the first IdP still sees exactly its own.
    assert _total(okta, "/Users") == 1 and _total(okta, "/Groups") == 1
    assert _total(okta, "/Users", filter='userName eq "ed@example.com"') == 0
    assert okta.get(f"/Users/{mine['id']}").status == 404

    # A group member of another connection is refused exactly like an id never issued.
    for members in ([jane["id"]], [UNKNOWN_ID]):
        refused = entra.post("/Groups", _group(f"Ops {members[0][:4]}", members))
        error_of(refused, 400, "invalidValue")
    theirs = entra.post("/Groups", _group("Ops", [jane["id"]]))
    never = entra.post("/Groups", _group("Ops", [UNKNOWN_ID]))
    _same_as_unknown(theirs, never)
    ops = _created(entra.post("/Groups", _group("Ops", [mine["id"]])))
    for member in (jane["id"], UNKNOWN_ID):
        add = _ops({"op": "add", "path": "members", "value": [{"value": member}]})
        error_of(entra.patch(f"/Groups/{ops['id']}", add), 400, "invalidValue")
    put = entra.put(f"/Groups/{ops['id']}", _group("Ops", [mine["id"], jane["id"]]))
    _same_as_unknown(put, entra.put(f"/Groups/{ops['id']}", _group("Ops", [UNKNOWN_ID])))

    # Nothing of Okta's changed.
    after = okta.get(f"/Users/{jane['id']}")
    assert after.status == 200 and after.json["meta"]["version"] == version
    assert after.json["active"] is True
    members = okta.get(f"/Groups/{team['id']}").json["members"]
    assert [m["value"] for m in members] == [jane["id"]]


def test_a_user_name_held_by_another_connection_is_409_saying_nothing_of_the_holder(
    live: LiveServer,
) -> None:
    okta, entra = _idp(live, "Okta"), _entra(live)
    _created(okta.post("/Users", _user("jane@example.com")))
    elsewhere = error_of(entra.post("/Users", _user("Jane@Example.com")), 409, "uniqueness")
    at_home = error_of(okta.post("/Users", _user("jane@example.com")), 409, "uniqueness")
    assert _without_ids(elsewhere["detail"]) == _without_ids(at_home["detail"])
    assert "Okta" not in elsewhere["detail"] and "inactive" not in elsewhere["detail"]
    ed = _created(entra.post("/Users", _user("ed@example.com")))
    rename = _ops({"op": "replace", "path": "userName", "value": "jane@example.com"})
    renamed = error_of(entra.patch(f"/Users/{ed['id']}", rename), 409, "uniqueness")
    assert _without_ids(renamed["detail"]) == _without_ids(at_home["detail"])
    assert _total(entra, "/Users", filter='userName eq "jane@example.com"') == 0


def test_the_okta_entra_group_collision_keeps_every_member_and_role(live: LiveServer) -> None:
    """The three steps of the connections issue: Entra pushes a group Okta already pushed,
    looks it up by name and adds its members, then Okta pushes again."""
    ensure_default_roles(live.store)
    set_mapping(live.store, "Engineering", "operator", OPERATOR)  # any connection
    okta, entra = _idp(live, "Okta"), _entra(live)
    ada = _created(okta.post("/Users", _user("ada@example.com")))
    bob = _created(okta.post("/Users", _user("bob@example.com")))
    cy = _created(entra.post("/Users", _user("cy@example.com")))
    dee = _created(entra.post("/Users", _user("dee@example.com")))
    okta_group = _created(okta.post("/Groups", _group("Engineering", [ada["id"]])))

    # 1. Entra's POST of the same name is its own group, not a 409.
    entra_group = _created(entra.post("/Groups", _group("Engineering", [cy["id"]])))
    assert entra_group["id"] != okta_group["id"]
    # 2. Entra's name lookup finds its own group and adds its members there.
    found = entra.get("/Groups", params={"filter": 'displayName eq "Engineering"'}).json
    assert [g["id"] for g in found["Resources"]] == [entra_group["id"]]
    add = _ops({"op": "add", "path": "members", "value": [{"value": dee["id"]}]})
    assert entra.patch(f"/Groups/{entra_group['id']}", add).status in (200, 204)
    # 3. Okta's "Push now" replaces its group's members: Entra's stay where they are.
    push = okta.put(f"/Groups/{okta_group['id']}", _group("Engineering", [ada["id"], bob["id"]]))
    assert push.status == 200, push.raw[:300]

    okta_members = {m["value"] for m in okta.get(f"/Groups/{okta_group['id']}").json["members"]}
    entra_members = {m["value"] for m in entra.get(f"/Groups/{entra_group['id']}").json["members"]}
    assert okta_members == {ada["id"], bob["id"]}
    assert entra_members == {cy["id"], dee["id"]}
    for person in (ada, bob, cy, dee):
        roles = {(r.role, r.source) for r in user_roles(live.store, person["id"])}
        assert roles == {("operator", "idp")}, person["userName"]


def test_after_a_transfer_the_new_idp_finds_and_patches_the_users_with_manual_roles_kept(
    live: LiveServer,
) -> None:
    ensure_default_roles(live.store)
    okta, entra = _idp(live, "Okta"), _entra(live)
    jane = _created(okta.post("/Users", _user("jane@example.com", externalId="00uJANE")))
    team = _created(okta.post("/Groups", _group("Engineering", [jane["id"]])))
    grant_role(live.store, "jane@example.com", "admin", OPERATOR)
    lookup = {"filter": 'userName eq "jane@example.com"'}

    plan = transfer_connection(live.store, "Okta", "Entra ID", dry_run=True, actor=OPERATOR)
    assert [u.id for u in plan.users] == [jane["id"]] and [g.id for g in plan.groups] == [
        team["id"]
    ]
    assert entra.get("/Users", params=lookup).json["totalResults"] == 0  # the dry run moved none
    assert okta.get(f"/Users/{jane['id']}").status == 200

    transfer_connection(live.store, "Okta", "Entra ID", actor=OPERATOR)
    found = entra.get("/Users", params=lookup).json
    assert [u["id"] for u in found["Resources"]] == [jane["id"]]  # linked, not duplicated
    off = entra.patch(f"/Users/{jane['id']}", _ops({"op": "replace", "path": "active",
                                                     "value": False}))  # fmt: skip
    assert off.status == 200 and off.json["active"] is False
    rename = _ops({"op": "replace", "path": "displayName", "value": "Jane D."})
    assert entra.patch(f"/Users/{jane['id']}", rename).status == 200
    team_now = entra.get(f"/Groups/{team['id']}").json
    assert [m["value"] for m in team_now["members"]] == [jane["id"]]  # membership kept
    roles = {(r.role, r.source) for r in user_roles(live.store, jane["id"])}
    assert ("admin", "manual") in roles
    assert okta.get(f"/Users/{jane['id']}").status == 404  # the old IdP lets go
    assert okta.get("/Users", params=lookup).json["totalResults"] == 0


def test_a_token_rotates_with_no_failed_request(live: LiveServer) -> None:
    """An IdP keeps sending requests with its token while a new token is issued for its
    connection, pasted in (the client switches), and the old one revoked."""
    okta = _idp(live, "Okta")
    jane = _created(okta.post("/Users", _user("jane@example.com")))
    old = str(okta.token)
    current = {"token": old}
    log: list[tuple[str, int, float, float]] = []  # token, status, started, finished
    stop = threading.Event()

    def idp() -> None:
        client = live.client(token=old)
        while not stop.is_set():
            client.token = current["token"]
            started = time.monotonic()
            status = client.get(f"/Users/{jane['id']}").status
            log.append((client.token, status, started, time.monotonic()))

    worker = threading.Thread(target=idp)
    worker.start()
    try:
        wait_until(lambda: len(log) >= 20, 60, "the IdP sent no requests")
        new = rotate_token(live.store, "Okta", OPERATOR)
        assert new.record.name == "Okta-2" and new.record.connection == "Okta"
        current["token"] = new.secret  # pasted into the IdP
        wait_until(lambda: sum(t == new.secret for t, *_ in log) >= 20, 60, "no request with new")
        revoking = time.monotonic()
        revoke_token(live.store, "Okta", OPERATOR)
        revoked = time.monotonic()
        wait_until(lambda: any(s > revoked for _t, _s, s, _f in log), 60, "no request after")
    finally:
        stop.set()
        worker.join(60)
    before = [status for _t, status, _s, finished in log if finished < revoking]
    assert before and set(before) == {200}, sorted(set(before))
    assert {status for _t, status, _s, _f in log} == {200}  # none failed in the switch either
    assert okta.get(f"/Users/{jane['id']}").status == 401  # the old token, now revoked
    rotated = live.client(token=new.secret)
    assert rotated.get(f"/Users/{jane['id']}").status == 200
    assert rotated.get("/Users").json["totalResults"] == 1  # the same connection's users


def test_the_request_log_names_each_requests_connection(live: LiveServer) -> None:
    okta, entra = _idp(live, "Okta"), _entra(live)
    assert okta.get("/Users").status == 200 and entra.get("/Groups").status == 200
    live.recorder.flush()
    with db_session:
        rows = {(a.path, a.connection) for a in live.store.db.Activity.select()}
    assert ("/scim/v2/Users", "Okta") in rows and ("/scim/v2/Groups", "Entra ID") in rows
