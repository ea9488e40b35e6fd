"""JumpCloud's connection test and provisioning sequence against a real server, and what
DELETE leaves behind."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, error_of

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
AGENT = "JumpCloud SCIM (test client)"


def _ops(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


def test_jumpcloud_connection_test_creates_and_deletes(live: LiveServer) -> None:
    jc = live.client(AGENT, content_type="application/json")
    user = jc.post("/Users", {"schemas": [USER], "userName": "jctestuser@example.com",
                              "name": {"givenName": "JC", "familyName": "Test"},
                              "emails": [{"value": "jctestuser@example.com", "primary": True}],
                              "active": True})  # fmt: skip
    assert user.status == 201, user.raw
    group = jc.post("/Groups", {"schemas": [GROUP], "displayName": "JC Test Group",
                                "members": [{"value": user.json["id"]}]})  # fmt: skip
    assert group.status == 201, group.raw
    assert jc.delete(f"/Groups/{group.json['id']}").status == 204
    assert jc.delete(f"/Users/{user.json['id']}").status == 204
    error_of(jc.get(f"/Users/{user.json['id']}"), 404)
    error_of(jc.get(f"/Groups/{group.json['id']}"), 404)
    # the test user can be created again by the next connection test
    assert (
        jc.post("/Users", {"schemas": [USER], "userName": "jctestuser@example.com"}).status == 201
    )


def test_jumpcloud_updates_and_membership(live: LiveServer) -> None:
    jc = live.client(AGENT)
    john = jc.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "john@example.com",
            "name": {"givenName": "Jon", "familyName": "Smith"},
        },
    ).json
    ann = jc.post("/Users", {"schemas": [USER], "userName": "ann@example.com"}).json
    path = f"/Users/{john['id']}"
    renamed = jc.patch(path, _ops({"op": "replace", "path": "name.givenName", "value": "John"}))
    assert renamed.status == 200 and renamed.json["name"] == {
        "givenName": "John",
        "familyName": "Smith",
    }
    group = jc.post("/Groups", {"schemas": [GROUP], "displayName": "Staff",
                                "members": [{"value": john["id"]}]}).json  # fmt: skip
    gpath = f"/Groups/{group['id']}"
    for _ in range(3):  # JumpCloud repeats adds
        add = _ops({"op": "add", "path": "members", "value": [{"value": ann["id"]}]})
        assert jc.patch(gpath, add).status == 204
    members = [m["value"] for m in jc.get(gpath).json["members"]]
    assert sorted(members) == sorted([john["id"], ann["id"]])
    remove = _ops({"op": "remove", "path": "members", "value": [{"value": john["id"]}]})
    assert jc.patch(gpath, remove).status == 204
    assert [m["value"] for m in jc.get(gpath).json["members"]] == [ann["id"]]
    off = jc.patch(path, _ops({"op": "replace", "path": "active", "value": False}))
    assert off.status == 200 and off.json["active"] is False


def test_delete_is_404_everywhere_and_gone_from_members(live: LiveServer) -> None:
    c = live.client()
    gone = c.post("/Users", {"schemas": [USER], "userName": "gone@example.com",
                             "externalId": "ext-gone"}).json  # fmt: skip
    kept = c.post("/Users", {"schemas": [USER], "userName": "kept@example.com"}).json
    group = c.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "G",
            "members": [{"value": gone["id"]}, {"value": kept["id"]}],
        },
    ).json
    path = f"/Users/{gone['id']}"
    assert c.delete(path).status == 204
    error_of(c.get(path), 404)
    error_of(c.put(path, {"schemas": [USER], "userName": "gone@example.com"}), 404)
    error_of(c.patch(path, _ops({"op": "replace", "path": "active", "value": True})), 404)
    error_of(c.delete(path), 404)
    for flt in ('userName eq "gone@example.com"', 'externalId eq "ext-gone"',
                f'id eq "{gone["id"]}"'):  # fmt: skip
        assert c.get("/Users", params={"filter": flt}).json["totalResults"] == 0
    listed = {u["id"] for u in c.get("/Users").json["Resources"]}
    assert listed == {kept["id"]}
    assert [m["value"] for m in c.get(f"/Groups/{group['id']}").json["members"]] == [kept["id"]]
    by_member = c.get("/Groups", params={"filter": f'members.value eq "{gone["id"]}"'})
    assert by_member.json["totalResults"] == 0
    add_back = _ops({"op": "add", "path": "members", "value": [{"value": gone["id"]}]})
    assert c.patch(f"/Groups/{group['id']}", add_back).status in (400, 404)
