"""Okta's provisioning sequence (IDP_QUIRKS.md) against a real server."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import SCIM_JSON, LiveServer, error_of

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

JANE: dict[str, Any] = {
    "schemas": [USER], "userName": "jane@example.com",
    "name": {"givenName": "Jane", "familyName": "Doe"},
    "emails": [{"primary": True, "value": "jane@example.com", "type": "work"}],
    "displayName": "Jane Doe", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [], "password": "1mz050nq", "active": True,
}  # fmt: skip


def _ops(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


def test_okta_user_lifecycle(live: LiveServer) -> None:
    okta = live.client()
    assert okta.get("/Users", params={"startIndex": "1", "count": "1"}).status == 200  # test creds
    lookup = okta.request(
        "GET", "/Users?filter=userName%20eq%20%22jane%40example.com%22&startIndex=1&count=100"
    )
    assert lookup.status == 200 and lookup.header("content-type") == SCIM_JSON
    assert lookup.json["totalResults"] == 0 and lookup.json["Resources"] == []

    created = okta.post("/Users", JANE)
    assert created.status == 201, created.raw
    jane = created.json
    assert created.header("location") == f"{live.base_url}/Users/{jane['id']}"
    assert created.header("etag") == jane["meta"]["version"]
    assert "password" not in jane and b"1mz050nq" not in created.raw
    assert jane["name"]["givenName"] == "Jane" and jane["emails"][0]["value"] == "jane@example.com"

    error_of(okta.post("/Users", JANE), 409, "uniqueness")
    upper = okta.get("/Users", params={"filter": 'userName eq "JANE@EXAMPLE.COM"'})
    assert upper.status == 200 and [u["id"] for u in upper.json["Resources"]] == [jane["id"]]

    profile = dict(JANE, id=jane["id"], displayName="Jane Q. Doe",
                   name={"givenName": "Jane", "familyName": "Quincy-Doe"})  # fmt: skip
    put = okta.put(f"/Users/{jane['id']}", profile)
    assert put.status == 200 and put.json["name"]["familyName"] == "Quincy-Doe"

    off = okta.patch(f"/Users/{jane['id']}", _ops({"op": "replace", "value": {"active": False}}))
    assert off.status == 200 and off.json["active"] is False
    still = okta.request(
        "GET", "/Users?filter=userName%20eq%20%22jane%40example.com%22&startIndex=1&count=100"
    )
    assert still.json["totalResults"] == 1 and still.json["Resources"][0]["active"] is False
    on = okta.patch(f"/Users/{jane['id']}", _ops({"op": "replace", "value": {"active": True}}))
    assert on.status == 200 and on.json["active"] is True

    suspended = okta.put(f"/Users/{jane['id']}", dict(profile, active=False))
    assert suspended.status == 200 and suspended.json["active"] is False
    # Re-assigning a deactivated user: Okta looks it up, finds it inactive and reactivates it
    # by id. A POST of its userName is refused: a create never takes over an existing user.
    error_of(okta.post("/Users", JANE), 409, "uniqueness")
    found = okta.get("/Users", params={"filter": 'userName eq "jane@example.com"'}).json
    assert [u["id"] for u in found["Resources"]] == [jane["id"]]
    assert found["Resources"][0]["active"] is False
    again = okta.patch(f"/Users/{jane['id']}", _ops({"op": "replace", "value": {"active": True}}))
    assert again.status == 200 and again.json["active"] is True

    error_of(okta.get("/Users/00000000000000000000000000000000"), 404)


def test_okta_import_paging(live: LiveServer) -> None:
    okta = live.client()
    made = {okta.post("/Users", {"schemas": [USER], "userName": f"user{i:03d}@example.com",
                                 "active": i % 3 != 0}).json["id"] for i in range(230)}  # fmt: skip
    seen: list[str] = []
    start, pages = 1, 0
    while True:
        page = okta.get("/Users", params={"startIndex": str(start), "count": "100"})
        assert page.status == 200
        body = page.json
        for key in ("totalResults", "startIndex", "itemsPerPage"):
            assert type(body[key]) is int
        assert body["totalResults"] == 230 and body["startIndex"] == start
        assert body["itemsPerPage"] == len(body["Resources"]) <= 100
        seen += [u["id"] for u in body["Resources"]]
        pages += 1
        start += 100
        if start > body["totalResults"]:
            break
    assert pages == 3 and len(seen) == 230 and set(seen) == made


def test_okta_group_push(live: LiveServer) -> None:
    okta = live.client()
    jane = okta.post("/Users", JANE).json
    bob = okta.post("/Users", {"schemas": [USER], "userName": "bob@example.com"}).json
    pushed = okta.post("/Groups", {"schemas": [GROUP], "displayName": "Engineering", "members": []})
    assert pushed.status == 201, pushed.raw
    group = pushed.json
    path = f"/Groups/{group['id']}"

    add = _ops(
        {"op": "replace", "value": {"id": group["id"], "displayName": "Eng"}},
        {"op": "add", "path": "members",
         "value": [{"value": jane["id"], "display": "jane@example.com"},
                   {"value": bob["id"], "display": "bob@example.com"}]},
    )  # fmt: skip
    reply = okta.patch(path, add)
    assert reply.status == 204 and reply.raw == b""
    shown = okta.get(path).json
    assert shown["displayName"] == "Eng"
    assert sorted(m["value"] for m in shown["members"]) == sorted([jane["id"], bob["id"]])
    assert {g["value"] for g in okta.get(f"/Users/{jane['id']}").json["groups"]} == {group["id"]}

    remove = _ops(
        {"op": "replace", "value": {"id": group["id"], "displayName": "Eng"}},
        {"op": "remove", "path": f'members[value eq "{jane["id"]}"]'},
    )
    assert okta.patch(path, remove).status == 204
    assert [m["value"] for m in okta.get(path).json["members"]] == [bob["id"]]

    push_now = _ops({"op": "replace", "path": "members", "value": []})
    assert okta.patch(path, push_now).status == 204
    assert okta.get(path).json.get("members", []) == []

    assert okta.delete(path).status == 204  # unlinking the pushed group
    error_of(okta.get(path), 404)
    assert okta.get(f"/Users/{jane['id']}").status == 200
