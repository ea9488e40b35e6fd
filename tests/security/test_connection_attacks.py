"""An attacker holding a valid token of one IdP connection ("JumpCloud": a second IdP, or a
leaked token of a small subsidiary's directory) against the users, groups and roles of
another ("Okta"). Each test is one line of attack; each must find nothing to read, nothing
to change and no answer that differs from the one an id never issued gets.

Real app (``falcon.testing``) over a real store, SQLite file and PostgreSQL."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import falcon
import falcon.testing
import pytest
from pony.orm import db_session

from api.app import create_app
from store.config import RateLimitSettings
from store.context import Store
from store.queries.identity import user_roles
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.tokens import issue_token, revoke_token, rotate_token
from tests.api.conftest import (
    GROUP_URN,
    USER_URN,
    Scim,
    assert_scim_error,
    patch_op,
    roomy,
)

OPERATOR = "operator:test"
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
_HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def api_store(store: Store) -> Store:
    return roomy(store)


@pytest.fixture
def app(api_store: Store) -> falcon.App:
    return create_app(api_store)


def _idp(app: falcon.App, store: Store, name: str) -> Scim:
    return Scim(app, issue_token(store, name, OPERATOR, rate_limit=10**6).secret)


@pytest.fixture
def okta(app: falcon.App, api_store: Store) -> Scim:
    """The victim: the organisation's main IdP."""
    return _idp(app, api_store, "Okta")


@pytest.fixture
def jc(app: falcon.App, api_store: Store) -> Scim:
    """The attacker: a valid token of another connection."""
    return _idp(app, api_store, "JumpCloud")


def _blank(text: str) -> str:
    """A body with the ids and request ids it names blanked out."""
    return _HEX_ID.sub("ID", text)


def _like_unknown(found: falcon.testing.Result, unknown: falcon.testing.Result) -> None:
    """``found`` (another connection's resource) says exactly what ``unknown`` (an id never
    issued) says: status, headers that matter, and the body with ids blanked."""
    assert found.status_code == unknown.status_code, (found.status_code, found.text[:300])
    assert _blank(found.text) == _blank(unknown.text)
    for header in ("etag", "location", "content-type"):
        assert found.headers.get(header) == unknown.headers.get(header), header


def _total(client: Scim, path: str, **params: Any) -> int:
    reply = client.get(path, params=params or None)
    assert reply.status_code == 200, reply.text[:300]
    return int(reply.json["totalResults"])


def _search(client: Scim, path: str, **body: Any) -> dict[str, Any]:
    reply = client.post(path, {"schemas": [SEARCH_URN], **body})
    assert reply.status_code == 200, reply.text[:300]
    return reply.json  # type: ignore[no-any-return]


def _roles(store: Store, user_id: str) -> set[tuple[str, str]]:
    return {(r.role, r.source) for r in user_roles(store, user_id)}


def _state(store: Store) -> dict[str, Any]:
    """Everything a SCIM write may change: users, groups, memberships and roles."""
    with db_session:
        db = store.db
        return {
            "users": sorted(
                (u.id, u.user_name, u.active, u.version, u.deleted_at is None, u.connection.id)
                for u in db.User.select()
            ),
            "groups": sorted(
                (g.id, g.display_name, g.version, g.connection.id) for g in db.Group.select()
            ),
            "members": sorted((m.group.id, m.user.id) for m in db.Membership.select()),
            "roles": sorted(
                (a.user.id, a.role.name, a.source, a.via_group or "")
                for a in db.RoleAssignment.select()
            ),
        }


def _victim(okta: Scim) -> tuple[dict[str, Any], dict[str, Any]]:
    jane = okta.create_user(
        "jane@example.com",
        externalId="00uJANE",
        displayName="Jane Victim",
        emails=[{"value": "jane@example.com", "type": "work", "primary": True}],
    )
    team = okta.create_group("Engineering", [jane["id"]], externalId="00gENG")
    return jane, team


# ---- reads: nothing of another connection's users or groups, and no oracle ---------------


def test_item_reads_with_every_projection_answer_like_an_unknown_id(okta: Scim, jc: Scim) -> None:
    jane, team = _victim(okta)
    projections: list[dict[str, str]] = [
        {},
        {"attributes": "userName,displayName"},
        {"excludedAttributes": "groups,emails"},
        {"attributes": "members"},
        {"excludedAttributes": "members"},
        {"attributes": "id"},
    ]
    for kind, theirs in (("Users", jane["id"]), ("Groups", team["id"])):
        for params in projections:
            found = jc.get(f"/{kind}/{theirs}", params=params or None)
            unknown = jc.get(f"/{kind}/{UNKNOWN_ID}", params=params or None)
            assert found.status_code == 404, (kind, params)
            _like_unknown(found, unknown)


def test_etag_preconditions_reveal_nothing_about_another_connections_resource(
    okta: Scim, jc: Scim
) -> None:
    """If-Match with the right or a wrong version, If-None-Match, and the wildcard: a
    version check before the ownership check would answer 412 for one and 404 for the other."""
    jane, team = _victim(okta)
    user_etag = okta.get(f"/Users/{jane['id']}").headers["etag"]
    group_etag = okta.get(f"/Groups/{team['id']}").headers["etag"]
    bodies = {
        "Users": {"schemas": [USER_URN], "userName": "jane@example.com", "active": False},
        "Groups": {"schemas": [GROUP_URN], "displayName": "Engineering", "members": []},
    }
    patches = {
        "Users": patch_op({"op": "replace", "path": "active", "value": False}),
        "Groups": patch_op({"op": "remove", "path": "members"}),
    }
    for kind, theirs, tag in (("Users", jane["id"], user_etag), ("Groups", team["id"], group_etag)):
        for condition in (
            {"If-Match": tag},
            {"If-Match": 'W/"999"'},
            {"If-Match": "*"},
            {"If-None-Match": tag},
            {"If-None-Match": "*"},
        ):
            for method, body in (
                ("GET", None),
                ("PUT", bodies[kind]),
                ("PATCH", patches[kind]),
                ("DELETE", None),
            ):
                found = jc.request(method, f"/{kind}/{theirs}", body, headers=condition)
                unknown = jc.request(method, f"/{kind}/{UNKNOWN_ID}", body, headers=condition)
                assert found.status_code == 404, (kind, method, condition, found.text[:200])
                _like_unknown(found, unknown)
    after = okta.get(f"/Users/{jane['id']}")
    assert after.json["active"] is True and after.headers["etag"] == user_etag
    assert [m["value"] for m in okta.get(f"/Groups/{team['id']}").json["members"]] == [jane["id"]]


def test_filters_sorting_paging_and_counts_see_only_the_callers_own(okta: Scim, jc: Scim) -> None:
    jane, team = _victim(okta)
    for n in range(3):
        okta.create_user(f"okta{n}@example.com")
    mine = jc.create_user("ed@example.com")
    own_group = jc.create_group("Ops", [mine["id"]])
    user_filters = [
        None,
        "userName pr",
        'not (userName eq "ed@example.com")',
        'userName ne "ed@example.com"',
        f'id eq "{jane["id"]}" or id eq "{mine["id"]}"',
        'userName eq "JANE@EXAMPLE.COM"',
        'userName sw "j" or userName co "okta"',
        'userName gt ""',
        'externalId eq "00uJANE"',
        'displayName co "victim"',
        'emails[value eq "jane@example.com"]',
        'emails.value co "jane"',
        'emails[type eq "work" and primary eq true]',
        'meta.created gt "2000-01-01T00:00:00Z"',
        "active eq true",
    ]
    for text in user_filters:
        params: dict[str, Any] = {"filter": text} if text else {}
        page = jc.get("/Users", params=params or None).json
        ids = {r["id"] for r in page["Resources"]}
        assert ids <= {mine["id"]} and page["totalResults"] == len(ids), (text, page)
        assert _total(jc, "/Users", count=0, **params) == page["totalResults"]
        searched = _search(jc, "/Users/.search", **params)
        assert searched["totalResults"] == page["totalResults"], text
    for start in (1, 2, 3, 5, 100):
        page = jc.get("/Users", params={"startIndex": start, "count": 2, "sortBy": "userName",
                                        "sortOrder": "descending"}).json  # fmt: skip
        assert page["totalResults"] == 1
        assert [r["id"] for r in page["Resources"]] == ([mine["id"]] if start == 1 else [])

    group_filters = [
        None,
        "members pr",
        'displayName eq "Engineering"',
        'displayName sw "eng"',
        'externalId eq "00gENG"',
        f'members.value eq "{jane["id"]}"',
        f'members[value eq "{jane["id"]}"]',
        f'not (members.value eq "{jane["id"]}")',
        f'id eq "{team["id"]}"',
    ]
    for text in group_filters:
        params = {"filter": text} if text else {}
        page = jc.get("/Groups", params=params or None).json
        ids = {r["id"] for r in page["Resources"]}
        assert ids <= {own_group["id"]} and page["totalResults"] == len(ids), (text, page)
        assert team["id"] not in ids
    root = _search(jc, "/.search")
    assert {r["id"] for r in root["Resources"]} == {mine["id"], own_group["id"]}
    assert root["totalResults"] == 2
    deep = _search(jc, "/.search", startIndex=2, count=10)
    assert deep["totalResults"] == 2 and len(deep["Resources"]) == 1
    filtered = _search(jc, "/.search", filter=f'id eq "{jane["id"]}" or id eq "{team["id"]}"')
    assert filtered["totalResults"] == 0


def test_a_members_filter_matches_no_member_the_caller_cannot_see(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    """A group whose members all moved to another connection (``--users-only``): for its
    own IdP, ``members pr`` and a filter on their ids match nothing (as its GET lists none)."""
    from store.services.connections import transfer_connection

    gone = okta.create_user("gone@example.com")
    team = okta.create_group("Leavers", [gone["id"]])
    transfer_connection(api_store, "Okta", "JumpCloud", users_only=True, actor=OPERATOR)
    assert okta.get(f"/Groups/{team['id']}").json.get("members", []) == []
    for text in ("members pr", "members.value pr", f'members[value eq "{gone["id"]}"]',
                 f'members.value eq "{gone["id"]}"'):  # fmt: skip
        assert _total(okta, "/Groups", filter=text) == 0, text
    assert _total(okta, "/Groups", filter="not (members pr)") == 1


# ---- writes: another connection's users and groups cannot be touched --------------------


def test_no_member_of_another_connection_can_be_put_into_the_attackers_groups(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    jane, team = _victim(okta)
    mine = jc.create_user("ed@example.com")
    own = jc.create_group("Ops", [mine["id"]])
    before = _state(api_store)
    path = f"/Groups/{own['id']}"
    variants: list[Callable[[str], tuple[str, Any]]] = [
        lambda i: ("PATCH", patch_op({"op": "add", "path": "members", "value": [{"value": i}]})),
        lambda i: ("PATCH", patch_op({"op": "Add", "value": {"members": [{"value": i}]}})),
        lambda i: ("PATCH", patch_op({"op": "replace", "path": "members",
                                      "value": [{"value": mine["id"]}, {"value": i}]})),
        lambda i: ("PATCH", patch_op({"op": "replace", "value": {"displayName": "Ops",
                                      "members": [{"value": i}]}})),
        lambda i: ("PUT", {"schemas": [GROUP_URN], "displayName": "Ops",
                           "members": [{"value": mine["id"]}, {"value": i}]}),
    ]  # fmt: skip
    for variant in variants:
        method, body = variant(jane["id"])
        _, never = variant(UNKNOWN_ID)
        found = jc.request(method, path, body)
        assert found.status_code == 400, (method, body, found.text[:200])
        _like_unknown(found, jc.request(method, path, never))
    created = jc.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Ops 2",
                                  "members": [{"value": jane["id"]}]})  # fmt: skip
    never = jc.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Ops 2",
                                "members": [{"value": UNKNOWN_ID}]})  # fmt: skip
    assert_scim_error(created, 400, "invalidValue")
    _like_unknown(created, never)
    # Removing another connection's user from the attacker's group (or a filter naming it)
    # answers as for a non-member and changes nothing.
    for op in (
        {"op": "remove", "path": f'members[value eq "{jane["id"]}"]'},
        {"op": "remove", "path": "members", "value": [{"value": jane["id"]}]},
    ):
        assert jc.patch(path, patch_op(op)).status_code in (200, 204)
    after = _state(api_store)
    assert after["users"] == before["users"]
    assert after["members"] == before["members"]
    assert after["roles"] == before["roles"]
    assert team["id"] in {g for g, _u in after["members"]}


def test_a_users_read_only_groups_never_join_another_connections_group(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    """``groups`` of a User is readOnly: sent in a POST, PUT or PATCH of the attacker's own
    user, naming the victim's group, it joins nothing and echoes nothing back."""
    _jane, team = _victim(okta)
    theirs = [{"value": team["id"], "display": "Engineering"}]
    created = jc.post("/Users", {"schemas": [USER_URN], "userName": "ed@example.com",
                                 "groups": theirs})  # fmt: skip
    assert created.status_code == 201 and "groups" not in created.json
    path = f"/Users/{created.json['id']}"
    jc.put(path, {"schemas": [USER_URN], "userName": "ed@example.com", "groups": theirs})
    for op in (
        {"op": "add", "path": "groups", "value": theirs},
        {"op": "add", "value": {"groups": theirs}},
        {"op": "replace", "path": "groups", "value": theirs},
    ):
        reply = jc.patch(path, patch_op(op))
        assert reply.status_code in (200, 400), reply.text[:200]
        assert "groups" not in (reply.json if reply.status_code == 200 else {})
    assert "groups" not in jc.get(path).json
    members = okta.get(f"/Groups/{team['id']}").json["members"]
    assert created.json["id"] not in {m["value"] for m in members}


def test_the_attacker_cannot_create_rename_or_put_a_user_onto_another_connections_user_name(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    """Every spelling that is the same userName (case, width, composition, spaces) is 409
    ``uniqueness``, word for word the answer the holder's own IdP gets, and takes nothing."""
    okta.create_user("josé.garcía@example.com", externalId="00uJOSE")
    at_home = okta.post("/Users", {"schemas": [USER_URN], "userName": "josé.garcía@example.com"})
    home = assert_scim_error(at_home, 409, "uniqueness")
    spellings = [
        "josé.garcía@example.com",
        "JOSÉ.GARCÍA@EXAMPLE.COM",
        unicodedata.normalize("NFD", "josé.garcía@example.com"),
        "ｊｏｓé.garcía@example.com",  # fullwidth
        "  josé.garcía@example.com  ",
    ]
    mine = jc.create_user("ed@example.com")
    before = _state(api_store)
    for spelling in spellings:
        posted = jc.post("/Users", {"schemas": [USER_URN], "userName": spelling,
                                    "externalId": "00uJOSE", "active": True})  # fmt: skip
        body = assert_scim_error(posted, 409, "uniqueness")
        assert _blank(body["detail"]) == _blank(home["detail"]), spelling
        put = jc.put(f"/Users/{mine['id']}", {"schemas": [USER_URN], "userName": spelling})
        assert _blank(assert_scim_error(put, 409, "uniqueness")["detail"]) == _blank(home["detail"])
        rename = patch_op({"op": "replace", "path": "userName", "value": spelling})
        patched = jc.patch(f"/Users/{mine['id']}", rename)
        assert _blank(assert_scim_error(patched, 409, "uniqueness")["detail"]) == _blank(
            home["detail"]
        )
    assert _state(api_store) == before
    assert _total(jc, "/Users", filter='externalId eq "00uJOSE"') == 0


def test_a_shared_external_id_is_no_conflict_and_no_way_in(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    jane, team = _victim(okta)
    twin = jc.create_user("twin@example.com", externalId="00uJANE")
    twin_group = jc.create_group("Twins", [twin["id"]], externalId="00gENG")
    found = jc.get("/Users", params={"filter": 'externalId eq "00uJANE"'}).json
    assert [u["id"] for u in found["Resources"]] == [twin["id"]]
    found = jc.get("/Groups", params={"filter": 'externalId eq "00gENG"'}).json
    assert [g["id"] for g in found["Resources"]] == [twin_group["id"]]
    off = patch_op({"op": "replace", "path": "active", "value": False})
    assert jc.patch(f"/Users/{twin['id']}", off).status_code == 200
    assert jc.delete(f"/Groups/{twin_group['id']}").status_code == 204
    assert okta.get(f"/Users/{jane['id']}").json["active"] is True
    assert okta.get(f"/Groups/{team['id']}").status_code == 200


def test_same_named_groups_stay_apart_for_every_write(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    """The attacker's group of the victim's group name, renamed, replaced and deleted:
    the victim's group of that name never changes, and its name lookups find only its own."""
    jane, team = _victim(okta)
    mine = jc.create_user("ed@example.com")
    own = jc.create_group("Marketing", [mine["id"]])
    rename = patch_op({"op": "replace", "path": "displayName", "value": "engineering"})
    assert jc.patch(f"/Groups/{own['id']}", rename).status_code in (200, 204)
    second = jc.post("/Groups", {"schemas": [GROUP_URN], "displayName": "ENGINEERING "})
    assert_scim_error(second, 409, "uniqueness")  # unique within the attacker's connection
    put = {"schemas": [GROUP_URN], "displayName": "Engineering", "members": []}
    assert jc.put(f"/Groups/{own['id']}", put).status_code == 200
    assert jc.delete(f"/Groups/{own['id']}").status_code == 204
    found = okta.get("/Groups", params={"filter": 'displayName eq "Engineering"'}).json
    assert [g["id"] for g in found["Resources"]] == [team["id"]]
    assert [m["value"] for m in found["Resources"][0]["members"]] == [jane["id"]]
    assert okta.get(f"/Groups/{team['id']}").json["meta"]["version"] == team["meta"]["version"]


# ---- roles: a connection-scoped mapping is the victim connection's alone ------------------

LOOKALIKES = [
    "Admins",
    "admins",
    "ADMINS",
    "  Admins  ",
    "Admins\u00a0",  # no-break space: trimmed like a space
    unicodedata.normalize("NFD", "Admins"),
    "Ａdmins",  # fullwidth A
    "\u0410dmins",  # Cyrillic A
    "Admіns",  # Cyrillic i
]


def test_a_connection_scoped_mapping_never_matches_the_attackers_groups(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, "Admins", "admin", OPERATOR, connection="Okta")
    jane = okta.create_user("jane@example.com")
    okta.create_group("Admins", [jane["id"]])
    assert _roles(api_store, jane["id"]) == {("admin", "idp")}
    mine = jc.create_user("ed@example.com")
    for number, name in enumerate(LOOKALIKES):
        body = {"schemas": [GROUP_URN], "displayName": name, "members": [{"value": mine["id"]}]}
        created = jc.post("/Groups", body)
        if created.status_code == 201:
            assert jc.delete(f"/Groups/{created.json['id']}").status_code == 204
        else:  # refused as a look-alike or as a duplicate of a still-present name
            assert created.status_code in (400, 409), (name, created.text[:200])
        assert _roles(api_store, mine["id"]) == set(), name
        # Renamed into the name by every PATCH dialect and by PUT.
        own = jc.create_group(f"Plain {number}", [mine["id"]])
        for change in (
            patch_op({"op": "replace", "path": "displayName", "value": name}),
            patch_op({"op": "replace", "value": {"displayName": name, "id": own["id"]}}),
        ):
            jc.patch(f"/Groups/{own['id']}", change)
            assert _roles(api_store, mine["id"]) == set(), name
        jc.put(f"/Groups/{own['id']}", {**body, "displayName": name})
        assert _roles(api_store, mine["id"]) == set(), name
        assert jc.delete(f"/Groups/{own['id']}").status_code == 204
    # ... and a user the attacker adds to its own "Admins" later gains nothing either.
    own = jc.create_group("Admins", [])
    later = jc.create_user("later@example.com")
    add = patch_op({"op": "add", "path": "members", "value": [{"value": later["id"]}]})
    assert jc.patch(f"/Groups/{own['id']}", add).status_code in (200, 204)
    assert _roles(api_store, later["id"]) == set()
    assert _roles(api_store, jane["id"]) == {("admin", "idp")}


def test_a_mapping_for_any_connection_is_the_documented_exception(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    """Without ``--connection`` a mapping row matches the name in every connection: the
    attacker's same-named group then gives the role, and only to the attacker's own users
    (never to anyone it cannot see)."""
    ensure_default_roles(api_store)
    set_mapping(api_store, "Admins", "admin", OPERATOR)
    jane = okta.create_user("jane@example.com")
    mine = jc.create_user("ed@example.com")
    jc.create_group("Admins", [mine["id"]])
    assert _roles(api_store, mine["id"]) == {("admin", "idp")}
    assert _roles(api_store, jane["id"]) == set()


def test_a_victims_manual_and_idp_roles_survive_every_attackers_write(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, "Engineering", "operator", OPERATOR, connection="Okta")
    jane, team = _victim(okta)
    grant_role(api_store, "jane@example.com", "admin", OPERATOR)
    before = _roles(api_store, jane["id"])
    assert before == {("admin", "manual"), ("operator", "idp")}
    off = patch_op({"op": "replace", "path": "active", "value": False})
    jc.patch(f"/Users/{jane['id']}", off)
    jc.put(f"/Users/{jane['id']}", {"schemas": [USER_URN], "userName": "x@example.com"})
    jc.delete(f"/Users/{jane['id']}")
    jc.patch(f"/Groups/{team['id']}", patch_op({"op": "remove", "path": "members"}))
    jc.put(f"/Groups/{team['id']}", {"schemas": [GROUP_URN], "displayName": "Engineering"})
    jc.delete(f"/Groups/{team['id']}")
    jc.post("/Users", {"schemas": [USER_URN], "userName": "jane@example.com", "active": False})
    assert _roles(api_store, jane["id"]) == before
    assert okta.get(f"/Users/{jane['id']}").json["active"] is True


# ---- tokens: a revoked or rotated token, and one connection's rate limit ------------------


def test_a_revoked_token_gets_401_for_everything_and_a_rotated_one_stays_in_its_connection(
    app: falcon.App, api_store: Store, okta: Scim
) -> None:
    jane, team = _victim(okta)
    leaked = issue_token(api_store, "JumpCloud", OPERATOR, rate_limit=10**6)
    attacker = Scim(app, leaked.secret)
    own = attacker.create_user("ed@example.com")
    rotated = rotate_token(api_store, "JumpCloud", OPERATOR)
    assert rotated.record.connection == "JumpCloud"
    revoke_token(api_store, "JumpCloud", OPERATOR)
    for method, path in (
        ("GET", f"/Users/{own['id']}"),
        ("GET", f"/Users/{jane['id']}"),
        ("GET", f"/Groups/{team['id']}"),
        ("GET", "/Users"),
        ("POST", "/.search"),
        ("DELETE", f"/Users/{own['id']}"),
    ):
        body = {"schemas": [SEARCH_URN]} if method == "POST" else None
        assert_scim_error(attacker.request(method, path, body), 401)
    fresh = Scim(app, rotated.secret)
    assert fresh.get(f"/Users/{own['id']}").status_code == 200
    assert fresh.get(f"/Users/{jane['id']}").status_code == 404
    assert _total(fresh, "/Users") == 1
    # Rotating the victim's token is an operator's act only: the attacker's token names no
    # other connection, and the victim's rotated token sees the victim's users.
    victim_rotated = Scim(app, rotate_token(api_store, "Okta", OPERATOR).secret)
    assert victim_rotated.get(f"/Users/{jane['id']}").status_code == 200
    assert victim_rotated.get(f"/Users/{own['id']}").status_code == 404
    # A connection removed (it owned nothing) takes its tokens with it.
    from store.services.connections import remove_connection

    spare = Scim(app, issue_token(api_store, "Spare", OPERATOR, rate_limit=10**6).secret)
    assert spare.get("/Users").status_code == 200
    remove_connection(api_store, "Spare", OPERATOR)
    assert_scim_error(spare.get("/Users"), 401)
    assert_scim_error(spare.get(f"/Users/{jane['id']}"), 401)


def test_one_connections_rate_limit_never_throttles_another(store: Store) -> None:
    """The attacker spends its token's budget (and more): the victim's token is unaffected,
    and so is a second token of the attacker's own connection (a rotation's new token)."""
    limits = RateLimitSettings(requests_per_minute=60, burst=3)
    tight = replace(store, settings=replace(store.settings, rate_limit=limits))
    app = create_app(tight)
    okta = Scim(app, issue_token(tight, "Okta", OPERATOR).secret)
    jc = Scim(app, issue_token(tight, "JumpCloud", OPERATOR).secret)
    statuses = [jc.get("/Users").status_code for _ in range(10)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429, statuses
    assert okta.get("/Users").status_code == 200  # the clock has not moved
    rotated = Scim(app, rotate_token(tight, "JumpCloud", OPERATOR).secret)
    assert rotated.get("/Users").status_code == 200


# ---- endpoints with no resource of their own ----------------------------------------------


def test_me_bulk_and_unknown_endpoints_hold_nothing_for_the_attacker(okta: Scim, jc: Scim) -> None:
    jane, _team = _victim(okta)
    for method, path in (("GET", "/Me"), ("POST", "/Bulk"), ("GET", "/Users/.search"),
                         ("GET", f"/Users/{jane['id']}/groups")):  # fmt: skip
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": []} if method == "POST" else None  # fmt: skip
        reply = jc.request(method, path, body)
        assert reply.status_code in (404, 405, 501), (path, reply.status_code)
        assert "jane" not in reply.text.lower()


# ---- transfers: what an operator is told moved is what moved ------------------------------


def _owners(store: Store) -> dict[str, str]:
    """Resource id -> the name of the connection owning it (live users and every group)."""
    with db_session:
        users = {u.id: u.connection.name for u in store.db.User.select() if u.deleted_at is None}
        return users | {g.id: g.connection.name for g in store.db.Group.select()}


def test_a_dry_run_changes_nothing_at_all(api_store: Store, okta: Scim, jc: Scim) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, "Engineering", "operator", OPERATOR, connection="Okta")
    set_mapping(api_store, "Engineering", "viewer", OPERATOR, connection="JumpCloud")
    _victim(okta)
    before = _state(api_store)
    from store.services.connections import transfer_connection

    for users_only in (False, True):
        plan = transfer_connection(api_store, "Okta", "JumpCloud", users_only=users_only,
                                   dry_run=True, actor=OPERATOR)  # fmt: skip
        assert plan.dry_run and len(plan.users) == 1
    assert _state(api_store) == before
    assert _total(jc, "/Users") == 0 and _total(okta, "/Users") == 1


def test_a_group_name_clash_refuses_the_whole_transfer(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    from store.errors import InvalidInput
    from store.services.connections import transfer_connection

    _victim(okta)
    okta.create_group("Design", [])
    jc.create_group(" design ", [])  # the same group name, spelt as another IdP sends it
    before = _state(api_store)
    with pytest.raises(InvalidInput, match="nothing was transferred"):
        transfer_connection(api_store, "Okta", "JumpCloud", actor=OPERATOR)
    assert _state(api_store) == before
    for same in ("okta", " OKTA ", "Ｏkta"):
        with pytest.raises(InvalidInput, match="into itself"):
            transfer_connection(api_store, "Okta", same, actor=OPERATOR)
    assert _state(api_store) == before


def test_idp_writes_during_a_transfer_move_only_what_the_transfer_lists(
    backend: str, store_url: str, api_store: Store, okta: Scim
) -> None:
    """The old IdP creates a user and a group, and renames a group, while a transfer is
    under way (PostgreSQL: the transfer is held at its lock of mapping edits by another
    session, after it read what to move). What the transfer reports and audits as moved is
    exactly what moved; the IdP's writes wait for it and then land, or find their group
    gone, and every user's roles follow the mapping of the connection owning its groups."""
    if backend != "postgresql":
        pytest.skip("SQLite: the transfer holds the one writer lock before it reads its plan")
    import threading

    import psycopg2

    from store.queries.identity import audit_events
    from store.services.connections import create_connection, transfer_connection
    from tests.support import wait_until

    ensure_default_roles(api_store)
    create_connection(api_store, "Entra", None, OPERATOR)
    set_mapping(api_store, "Late", "admin", OPERATOR, connection="Okta")
    ann = okta.create_user("ann@example.com")
    ops = okta.create_group("Ops", [ann["id"]])

    holder = psycopg2.connect(store_url)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(727273)")  # the mapping-edits lock
    outcome: dict[str, Any] = {}

    def transfer() -> None:
        try:
            outcome["plan"] = transfer_connection(api_store, "Okta", "Entra", actor=OPERATOR)
        except Exception as error:  # noqa: BLE001  (reported by the assertions below)
            outcome["error"] = error

    def create() -> None:
        late = okta.create_user("late@example.com")
        outcome["late"] = late
        outcome["late_group"] = okta.create_group("Late", [late["id"]])

    def rename() -> None:
        change = patch_op({"op": "replace", "path": "displayName", "value": "Late"})
        outcome["rename"] = okta.patch(f"/Groups/{ops['id']}", change).status_code

    def waiting(count: int) -> Callable[[], bool]:
        def check() -> bool:
            with holder.cursor() as cur:
                cur.execute(  # this test's database only: other tests run beside it
                    "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid IN"
                    " (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
                )
                return int(cur.fetchone()[0]) >= count

        return check

    threads = [threading.Thread(target=t) for t in (transfer, create, rename)]
    try:
        threads[0].start()
        wait_until(waiting(1), 30, "the transfer never waited for the mapping-edits lock")
        for thread in threads[1:]:
            thread.start()
        wait_until(waiting(3), 30, "the IdP's writes never waited for the transfer")
    finally:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(727273)")
        holder.close()
        for thread in threads:
            thread.join(60)
    assert "error" not in outcome, outcome
    plan = outcome["plan"]
    owners = _owners(api_store)
    moved = {i for i, owner in owners.items() if owner == "Entra"}
    listed = {u.id for u in plan.users} | {g.id for g in plan.groups}
    assert moved == listed == {ann["id"], ops["id"]}, (moved - listed, listed - moved)
    summary = audit_events(api_store, "connection", limit=1)[0]
    assert set(summary.after["users"]) | set(summary.after["groups"]) == moved
    # The writes waited: the new user and group are the old IdP's, its rename found no group.
    assert owners[outcome["late"]["id"]] == owners[outcome["late_group"]["id"]] == "Okta"
    assert outcome["rename"] == 404
    assert _roles(api_store, outcome["late"]["id"]) == {("admin", "idp")}
    assert _roles(api_store, ann["id"]) == set()  # Entra maps no "Ops"


# ---- a connection removed while its token's requests are in flight ------------------------


def test_writes_in_flight_when_their_connection_is_removed_leave_nothing_behind(
    api_store: Store, okta: Scim
) -> None:
    """A request authenticates, then an operator removes its token's connection (it owned
    nothing), then the request creates a user or group, or the operator issues or rotates a
    token for it: each is refused, and nothing ends up owned by a removed connection, where
    no token or operator command could reach it (its userName would be taken for good)."""
    from store.domain.scope import of_connection
    from store.errors import StoreError
    from store.records import GroupInput, UserInput
    from store.services.connections import create_connection, remove_connection, transfer_connection
    from store.services.groups import create_group
    from store.services.users import create_user

    spare = create_connection(api_store, "Spare", None, OPERATOR)
    issue_token(api_store, "Spare token", OPERATOR, connection="Spare")
    in_flight = of_connection(spare.id)  # what the request's authentication gave it
    remove_connection(api_store, "Spare", OPERATOR)
    before = _state(api_store)
    with pytest.raises(StoreError):
        create_user(api_store, UserInput("orphan@example.com", {}), "token:Spare", in_flight)
    with pytest.raises(StoreError):
        create_group(api_store, GroupInput("Orphans", None, {}), (), "token:Spare", in_flight)
    assert _state(api_store) == before
    okta.create_user("orphan@example.com")  # the userName was never taken
    with pytest.raises(StoreError):
        transfer_connection(api_store, "Okta", "Spare", actor=OPERATOR)
    assert _state(api_store)["users"][0][-1] != spare.id


def test_a_post_waiting_on_its_connections_removal_is_refused_401(
    backend: str, store_url: str, app: falcon.App, api_store: Store
) -> None:
    """PostgreSQL: the POST has authenticated and waits for the connection row, which a
    removal holds (another session here, committing what ``remove_connection`` commits);
    it then answers 401 like any request of a revoked token, and creates nothing."""
    if backend != "postgresql":
        pytest.skip("SQLite: a removal and a create never overlap (one writer at a time)")
    import threading

    import psycopg2

    from tests.support import wait_until

    attacker = _idp(app, api_store, "JumpCloud")
    with db_session:
        connection_id = api_store.db.Connection.get(name="JumpCloud").id
    remover = psycopg2.connect(store_url)
    cur = remover.cursor()
    cur.execute('SELECT 1 FROM "scim_connection" WHERE "id" = %s FOR UPDATE', (connection_id,))
    answers: list[falcon.testing.Result] = []
    body = {"schemas": [USER_URN], "userName": "orphan@example.com"}
    poster = threading.Thread(target=lambda: answers.append(attacker.post("/Users", body)))
    poster.start()

    def waiting() -> bool:
        with psycopg2.connect(store_url) as probe, probe.cursor() as c:
            c.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'tuple' "
                      "OR (NOT granted AND locktype = 'transactionid')")  # fmt: skip
            return bool(c.fetchone()[0])

    try:
        wait_until(waiting, 30, "the POST never waited for the connection row")
        cur.execute('UPDATE "scim_token" SET "revoked_at" = now() WHERE "connection_id" = %s',
                    (connection_id,))  # fmt: skip
        cur.execute('UPDATE "scim_connection" SET "removed_at" = now(), '
                    "\"name_key\" = 'jumpcloud#removed#' || \"id\" WHERE \"id\" = %s",
                    (connection_id,))  # fmt: skip
        remover.commit()
    finally:
        remover.close()
        poster.join(60)
    assert len(answers) == 1
    assert_scim_error(answers[0], 401)
    assert answers[0].headers.get("www-authenticate", "").startswith("Bearer")
    with db_session:
        assert api_store.db.User.select().count() == 0


# ---- the request log ----------------------------------------------------------------------


def test_the_request_log_names_the_prober_and_holds_nothing_of_the_victim(
    api_store: Store,
) -> None:
    """The attacker's probes are logged under its own connection (an operator filtering by
    connection finds them, and the victim's entries hold none of them); what is logged of
    them is what the attacker sent and got, nothing of the victim's user."""
    from api.activity import ActivityRecorder
    from store.queries.activity import ActivityFilter, recent_activity

    recorder = ActivityRecorder(api_store, flush_seconds=3600)
    app = create_app(api_store, recorder=recorder)
    okta, jc = _idp(app, api_store, "Okta"), _idp(app, api_store, "JumpCloud")
    jane, team = _victim(okta)
    jc.get(f"/Users/{jane['id']}")
    jc.post("/Users", {"schemas": [USER_URN], "userName": "jane@example.com"})
    jc.get("/Users", params={"filter": 'externalId eq "00uJANE"'})
    jc.patch(f"/Groups/{team['id']}", patch_op({"op": "remove", "path": "members"}))
    recorder.flush()
    probes = recent_activity(api_store, 50, wanted=ActivityFilter(connection="jumpcloud"))
    assert sorted((a.method, a.status) for a in probes) == sorted(
        [("GET", 404), ("POST", 409), ("GET", 200), ("PATCH", 404)]
    )
    assert {a.connection for a in probes} == {"JumpCloud"}
    assert {a.token_name for a in probes} == {"JumpCloud"}
    for entry in probes:
        text = f"{entry.detail} {entry.query} {entry.path}"
        assert "Jane Victim" not in text and "Okta" not in text, text
    victims = recent_activity(api_store, 50, wanted=ActivityFilter(connection="Okta"))
    assert victims and all(a.token_name == "Okta" for a in victims)


def test_the_mapping_preview_of_a_scoped_row_lists_none_of_the_attackers_members(
    api_store: Store, okta: Scim, jc: Scim
) -> None:
    """An operator previews ``Admins -> admin`` for Okta only: the attacker's own "Admins"
    group (same name) adds nobody to the preview; the same row for any connection would."""
    from store.services.roles import preview_mapping_change

    ensure_default_roles(api_store)
    jane = okta.create_user("jane@example.com")
    okta.create_group("Admins", [jane["id"]])
    ed = jc.create_user("ed@example.com")
    jc.create_group("ADMINS", [ed["id"]])
    scoped = preview_mapping_change(api_store, [("Admins", "admin", "Okta")], [])
    assert scoped == [("jane@example.com", "admin", "gain")]
    anywhere = preview_mapping_change(api_store, [("Admins", "admin", None)], [])
    assert anywhere == [("ed@example.com", "admin", "gain"), ("jane@example.com", "admin", "gain")]
    set_mapping(api_store, "Admins", "admin", OPERATOR, connection="Okta")
    assert preview_mapping_change(api_store, [], [("Admins", "admin", "Okta")]) == [
        ("jane@example.com", "admin", "lose")
    ]
