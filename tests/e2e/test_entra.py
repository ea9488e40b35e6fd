"""Microsoft Entra ID's provisioning sequence (both PATCH dialects) against a real server."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from tests.e2e.conftest import SCIM_JSON, Client, LiveServer, error_of

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
AGENT = "Microsoft Entra ID provisioning (test client)"


def _entra_user(n: int) -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": str(uuid.UUID(int=n + 1)),
        "userName": f"Test_User_{n:04d}@contoso.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"Test_User_{n:04d}@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": str(1000 + n), "department": "Sales",
                     "manager": {"value": "some-manager-id"}},
    }  # fmt: skip


def _entra(live: LiveServer) -> Client:
    return live.client(AGENT)


def _member_ids(client: Client, group_id: str) -> set[str]:
    return {m["value"] for m in client.get(f"/Groups/{group_id}").json.get("members", [])}


def test_entra_test_connection(live: LiveServer) -> None:
    entra = _entra(live)
    probe = f'userName eq "{uuid.uuid4()}"'
    reply = entra.get("/Users", params={"filter": probe})
    assert reply.status == 200 and reply.header("content-type") == SCIM_JSON
    assert reply.json["totalResults"] == 0 and reply.json["Resources"] == []
    groups = entra.get(
        "/Groups",
        params={"excludedAttributes": "members", "filter": f'displayName eq "{uuid.uuid4()}"'},
    )
    assert groups.status == 200 and groups.json["totalResults"] == 0
    bad = live.client(AGENT, token="tscim_" + "Z" * 43).get("/Users", params={"filter": probe})
    error_of(bad, 401)
    assert bad.header("www-authenticate").startswith('Bearer realm="scim"')


def test_entra_user_and_group_sequence(live: LiveServer) -> None:
    entra = _entra(live)
    body = _entra_user(1)
    assert entra.get("/Users", params={"filter": f'externalId eq "{body["externalId"]}"'}
                     ).json["totalResults"] == 0  # fmt: skip
    created = entra.post("/Users", body)
    assert created.status == 201, created.raw
    user = created.json
    assert user[ENTERPRISE]["employeeNumber"] == "1001"
    by_ext = entra.get("/Users", params={"filter": f'externalId eq "{body["externalId"]}"'})
    assert [u["id"] for u in by_ext.json["Resources"]] == [user["id"]]
    by_mail = entra.get(
        "/Users", params={"filter": 'emails[type eq "work"].value eq "test_user_0001@contoso.com"'}
    )
    assert [u["id"] for u in by_mail.json["Resources"]] == [user["id"]]

    lookup = entra.get("/Groups", params={"excludedAttributes": "members",
                                          "filter": 'displayName eq "Sales Team"'})  # fmt: skip
    assert lookup.json["totalResults"] == 0
    group = entra.post("/Groups", {"schemas": [GROUP, ENTRA_GROUP], "displayName": "Sales Team",
                                   "externalId": str(uuid.uuid4())}).json  # fmt: skip
    add = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}
        ],
    }
    assert entra.patch(f"/Groups/{group['id']}", add).status == 204
    assert _member_ids(entra, group["id"]) == {user["id"]}

    path = f"/Users/{user['id']}"
    nick = entra.patch(path, {"Operations": [{"op": "Add", "path": "nickName", "value": "Babs"}]})
    assert nick.status == 200 and nick.json["nickName"] == "Babs"
    several = entra.patch(
        path,
        {
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
                {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
            ]
        },
    )
    assert several.status == 200, several.raw
    assert several.json["emails"][0]["value"] == "b@example.com"
    assert several.json["name"]["givenName"] == "Barbara"
    assert several.json[ENTERPRISE]["employeeNumber"] == "701984"

    off = entra.patch(path, {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert off.status == 200 and off.json["active"] is False
    assert _member_ids(entra, group["id"]) == {user["id"]}  # memberships kept while inactive
    on = entra.patch(path, {"Operations": [{"op": "Replace", "path": "active", "value": "True"}]})
    assert on.json["active"] is True

    second = entra.post("/Users", _entra_user(2)).json
    entra.patch(
        f"/Groups/{group['id']}",
        {
            "Operations": [
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": second["id"]}]}
            ]
        },
    )
    remove = {"Operations": [{"op": "Remove", "path": "members", "value": [{"value": user["id"]}]}]}
    assert entra.patch(f"/Groups/{group['id']}", remove).status == 204
    assert _member_ids(entra, group["id"]) == {second["id"]}  # only the listed member left

    assert entra.delete(path).status == 204  # hard delete, 30 days later
    error_of(entra.get(path), 404)
    assert entra.get("/Users", params={"filter": f'externalId eq "{body["externalId"]}"'}
                     ).json["totalResults"] == 0  # fmt: skip


def test_entra_aad_opt_scim_062020_dialect(live: LiveServer) -> None:
    entra = _entra(live)
    user = entra.post("/Users", dict(_entra_user(3), emails=[])).json
    path = f"/Users/{user['id']}"
    flat = entra.patch(
        path,
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "replace",
                    "value": {
                        "displayName": "B",
                        "name.givenName": "K",
                        f"{ENTERPRISE}:employeeNumber": "A",
                    },
                }
            ],
        },
    )
    assert flat.status == 200, flat.raw
    assert flat.json["displayName"] == "B" and flat.json["name"]["givenName"] == "K"
    assert flat.json[ENTERPRISE]["employeeNumber"] == "A"
    work = entra.patch(
        path,
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "new@contoso.com",
                }
            ],
        },
    )
    assert work.status == 200, work.raw
    assert {"type": "work", "value": "new@contoso.com"}.items() <= work.json["emails"][0].items()
    off = entra.patch(
        path,
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]},
    )
    assert off.json["active"] is False

    group = entra.post("/Groups", {"schemas": [GROUP], "displayName": "Ops"}).json
    other = entra.post("/Users", _entra_user(4)).json
    gpath = f"/Groups/{group['id']}"
    entra.patch(gpath, {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                "value": [{"value": user["id"]}, {"value": other["id"]}]}]})  # fmt: skip
    reply = entra.patch(
        gpath,
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}"]'}],
        },
    )
    assert reply.status == 204
    assert _member_ids(entra, group["id"]) == {other["id"]}


def test_entra_parallel_group_patches(live: LiveServer) -> None:
    """Entra sends up to ~5 PATCHes to one group at once: none may be lost."""
    setup = _entra(live)
    users = [setup.post("/Users", _entra_user(10 + i)).json["id"] for i in range(25)]
    group = setup.post("/Groups", {"schemas": [GROUP, ENTRA_GROUP], "displayName": "Wide"}).json
    statuses: list[int] = []
    lock = threading.Lock()

    def push(chunk: list[str]) -> None:
        client = _entra(live)
        for user_id in chunk:
            reply = client.patch(
                f"/Groups/{group['id']}",
                {
                    "Operations": [
                        {
                            "op": "Add",
                            "path": "members",
                            "value": [{"$ref": None, "value": user_id}],
                        }
                    ]
                },
            )
            with lock:
                statuses.append(reply.status)
        client.close()

    threads = [threading.Thread(target=push, args=(users[i::5],)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [204] * 25
    assert _member_ids(setup, group["id"]) == set(users)
