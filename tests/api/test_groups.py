"""/Groups through the real app and store."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import GROUP_URN, Scim, assert_scim_error, patch_op

ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def _members(scim: Scim, group_id: str) -> list[str]:
    body = scim.get(f"/Groups/{group_id}").json
    return sorted(m["value"] for m in body.get("members", []))


def test_create_with_members(scim: Scim) -> None:
    a = scim.create_user("a@example.com")["id"]
    b = scim.create_user("b@example.com")["id"]
    result = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Eng",
                                   "members": [{"value": a, "display": "a@example.com"},
                                               {"value": b}]})  # fmt: skip
    assert result.status_code == 201, result.text
    group = result.json
    assert group["displayName"] == "Eng"
    assert sorted(m["value"] for m in group["members"]) == sorted([a, b])
    assert result.headers["location"] == group["meta"]["location"]
    assert result.headers["etag"] == group["meta"]["version"]
    assert group["meta"]["resourceType"] == "Group"


def test_entra_group_create_with_extra_schema(scim: Scim) -> None:
    result = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_URN, ENTRA_GROUP],
            "displayName": "Ops",
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        },
    )
    assert result.status_code == 201, result.text
    assert result.json.get("members", []) == []


def test_duplicate_group_name_is_409(scim: Scim) -> None:
    scim.create_group("Eng")
    assert_scim_error(scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "ENG"}), 409,
                      "uniqueness")  # fmt: skip


def test_unknown_member_is_refused(scim: Scim) -> None:
    result = scim.post("/Groups", {"displayName": "Eng", "members": [{"value": "nobody"}]})
    assert result.status_code in (400, 404), result.text
    assert_scim_error(result, result.status_code, result.json.get("scimType"))
    assert scim.get("/Groups").json["totalResults"] == 0


def test_patch_is_204_unless_attributes_asked(scim: Scim) -> None:
    group = scim.create_group("Eng")
    a = scim.create_user("a@example.com")["id"]
    add = patch_op({"op": "add", "path": "members", "value": [{"value": a}]})
    result = scim.patch(f"/Groups/{group['id']}", add)
    assert result.status_code == 204 and result.text == ""
    assert result.headers["etag"] != group["meta"]["version"]
    assert _members(scim, group["id"]) == [a]
    b = scim.create_user("b@example.com")["id"]
    add_b = patch_op({"op": "add", "path": "members", "value": [{"value": b}]})
    shown = scim.patch(f"/Groups/{group['id']}", add_b, params={"attributes": "members"})
    assert shown.status_code == 200
    assert sorted(m["value"] for m in shown.json["members"]) == sorted([a, b])
    slim = scim.patch(f"/Groups/{group['id']}", patch_op(
        {"op": "replace", "path": "displayName", "value": "Engineering"}),
        params={"excludedAttributes": "members"})  # fmt: skip
    assert slim.status_code == 200 and "members" not in slim.json
    assert slim.json["displayName"] == "Engineering"


def test_member_removal_forms(scim: Scim) -> None:
    ids = [scim.create_user(f"u{i}@example.com")["id"] for i in range(4)]
    group = scim.create_group("Eng", ids)
    path = f"/Groups/{group['id']}"
    okta = patch_op({"op": "remove", "path": f'members[value eq "{ids[0]}"]'})
    assert scim.patch(path, okta).status_code == 204
    entra = {"Operations": [{"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}]}
    assert scim.patch(path, entra).status_code == 204
    assert _members(scim, group["id"]) == sorted(ids[2:])
    again = scim.patch(path, okta)  # removing a non-member is not an error
    assert again.status_code == 204
    empty = patch_op({"op": "replace", "path": "members", "value": []})
    assert scim.patch(path, empty).status_code == 204
    assert _members(scim, group["id"]) == []


def test_okta_rename_with_id_in_value(scim: Scim) -> None:
    group = scim.create_group("Eng")
    body = patch_op({"op": "replace", "value": {"id": group["id"], "displayName": "Eng Team"}})
    assert scim.patch(f"/Groups/{group['id']}", body).status_code == 204
    assert scim.get(f"/Groups/{group['id']}").json["displayName"] == "Eng Team"


def test_excluded_members_on_get_and_list(scim: Scim) -> None:
    a = scim.create_user("a@example.com")["id"]
    group = scim.create_group("Eng", [a])
    one = scim.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"}).json
    assert "members" not in one and one["displayName"] == "Eng"
    listed = scim.get("/Groups", params={"filter": 'displayName eq "eng"',
                                         "excludedAttributes": "members"}).json  # fmt: skip
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    full = scim.get("/Groups", params={"filter": f'members.value eq "{a}"'}).json
    assert full["totalResults"] == 1
    assert [m["value"] for m in full["Resources"][0]["members"]] == [a]


def test_put_replaces_members(scim: Scim) -> None:
    a = scim.create_user("a@example.com")["id"]
    b = scim.create_user("b@example.com")["id"]
    group = scim.create_group("Eng", [a])
    result = scim.put(f"/Groups/{group['id']}", {"schemas": [GROUP_URN], "displayName": "Eng",
                                                 "members": [{"value": b}]})  # fmt: skip
    assert result.status_code == 200, result.text
    assert [m["value"] for m in result.json["members"]] == [b]
    assert_scim_error(scim.put("/Groups/nope", {"schemas": [GROUP_URN], "displayName": "x"}), 404)


def test_group_if_match(scim: Scim) -> None:
    group = scim.create_group("Eng")
    path = f"/Groups/{group['id']}"
    rename = patch_op({"op": "replace", "path": "displayName", "value": "X"})
    assert (
        scim.patch(path, rename, headers={"If-Match": group["meta"]["version"]}).status_code == 204
    )
    assert_scim_error(scim.patch(path, rename, headers={"If-Match": group["meta"]["version"]}), 412)
    assert_scim_error(scim.delete(path, headers={"If-Match": group["meta"]["version"]}), 412)


def test_delete_group(scim: Scim) -> None:
    group = scim.create_group("Eng")
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert_scim_error(scim.delete(f"/Groups/{group['id']}"), 404)
    add = patch_op({"op": "add", "path": "members", "value": [{"value": "x"}]})
    assert_scim_error(scim.patch(f"/Groups/{group['id']}", add), 404)


def test_group_filter_and_paging(scim: Scim) -> None:
    for i in range(5):
        scim.create_group(f"Team {i}")
    page = scim.get("/Groups", params={"startIndex": "2", "count": "2",
                                       "sortBy": "displayName"}).json  # fmt: skip
    assert page["totalResults"] == 5 and page["startIndex"] == 2
    assert [g["displayName"] for g in page["Resources"]] == ["Team 1", "Team 2"]
    assert_scim_error(scim.get("/Groups", params={"filter": 'userName eq "x"'}), 400,
                      "invalidFilter")  # fmt: skip


def test_patch_bad_member_value(scim: Scim) -> None:
    group = scim.create_group("Eng")
    bad: list[dict[str, Any]] = [
        patch_op({"op": "add", "path": "members", "value": "not-a-list"}),
        patch_op({"op": "add", "path": "members", "value": [{"nope": 1}]}),
        patch_op({"op": "remove"}),
    ]
    for body in bad:
        result = scim.patch(f"/Groups/{group['id']}", body)
        assert result.status_code == 400, result.text
        assert_scim_error(result, 400, result.json.get("scimType"))
    assert scim.get(f"/Groups/{group['id']}").json["meta"]["version"] == group["meta"]["version"]
