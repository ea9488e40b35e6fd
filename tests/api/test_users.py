"""/Users through the real app and store: every verb, status and scimType path."""

from __future__ import annotations

from typing import Any

import pytest

from store.context import Store
from store.queries.identity import audit_events
from tests.api.conftest import (
    ENTERPRISE_URN,
    LIST_URN,
    USER_URN,
    Scim,
    assert_scim_error,
    patch_op,
)

OKTA_JANE: dict[str, Any] = {
    "schemas": [USER_URN], "userName": "jane@example.com",
    "name": {"givenName": "Jane", "familyName": "Doe"},
    "emails": [{"primary": True, "value": "jane@example.com", "type": "work"}],
    "displayName": "Jane Doe", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [], "password": "1mz050nq", "active": True,
}  # fmt: skip


def test_create_returns_201_location_etag_and_meta(scim: Scim) -> None:
    result = scim.post("/Users", OKTA_JANE)
    assert result.status_code == 201, result.text
    body = result.json
    assert body["userName"] == "jane@example.com"
    assert body["name"] == {"givenName": "Jane", "familyName": "Doe"} or (
        body["name"]["givenName"] == "Jane" and body["name"]["familyName"] == "Doe"
    )
    assert body["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert body["active"] is True
    assert "password" not in body
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert result.headers["location"] == meta["location"]
    assert result.headers["etag"] == meta["version"]
    assert meta["version"].startswith('W/"')
    assert meta["created"] and meta["lastModified"]


def test_get_by_id_with_etag(scim: Scim) -> None:
    created = scim.post("/Users", OKTA_JANE).json
    result = scim.get(f"/Users/{created['id']}")
    assert result.status_code == 200
    assert result.json["id"] == created["id"]
    assert result.headers["etag"] == created["meta"]["version"]
    assert "password" not in result.text and "1mz050nq" not in result.text


def test_unknown_id_is_404_with_error_schema(scim: Scim) -> None:
    body = assert_scim_error(scim.get("/Users/00000000-0000-0000-0000-000000000000"), 404)
    assert body["detail"]


def test_duplicate_username_any_case_is_409_uniqueness(scim: Scim) -> None:
    scim.post("/Users", OKTA_JANE)
    again = dict(OKTA_JANE, userName="JANE@Example.COM", externalId="other")
    assert_scim_error(scim.post("/Users", again), 409, "uniqueness")


def test_patch_to_a_taken_name_is_409_uniqueness_naming_it(scim: Scim) -> None:
    """The uniqueness rule answers a PATCH as it answers a POST or PUT: naming the attribute,
    not as a write that lost a race after retries (externalId is not unique: RFC 7643 §3.1)."""
    scim.post("/Users", OKTA_JANE)
    bob = scim.create_user("bob@example.com")
    rename = patch_op({"op": "replace", "path": "userName", "value": "JANE@Example.COM"})
    body = assert_scim_error(scim.patch(f"/Users/{bob['id']}", rename), 409, "uniqueness")
    assert "userName" in body["detail"] and "concurrent" not in body["detail"]
    assert scim.get(f"/Users/{bob['id']}").json == bob


@pytest.mark.parametrize(
    "body",
    [{"schemas": [USER_URN]}, {"schemas": [USER_URN], "userName": ""},
     {"schemas": [USER_URN], "userName": "a", "active": "maybe"},
     {"schemas": [USER_URN], "userName": "a", "emails": "nope"},
     {"schemas": [USER_URN], "userName": "a", "name": ["x"]}],
)  # fmt: skip
def test_invalid_values_are_400(scim: Scim, body: dict[str, Any]) -> None:
    result = scim.post("/Users", body)
    assert result.status_code == 400, result.text
    assert_scim_error(result, 400, result.json.get("scimType"))
    assert result.json.get("scimType") in ("invalidValue", "invalidSyntax")
    assert scim.get("/Users").json["totalResults"] == 0


def test_lookup_before_create_returns_empty_list(scim: Scim) -> None:
    result = scim.get("/Users", params={"filter": 'userName eq "jane@example.com"',
                                        "startIndex": "1", "count": "100"})  # fmt: skip
    assert result.status_code == 200
    assert result.json == {
        "schemas": [LIST_URN],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    } or (result.json["totalResults"] == 0 and result.json["Resources"] == [])


def test_filter_on_upper_cased_username_and_inactive_users_visible(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    scim.patch(f"/Users/{jane['id']}", patch_op({"op": "replace", "value": {"active": False}}))
    result = scim.get("/Users", params={"filter": 'userName eq "JANE@EXAMPLE.COM"'})
    assert result.status_code == 200
    assert [r["id"] for r in result.json["Resources"]] == [jane["id"]]
    assert result.json["Resources"][0]["active"] is False


def test_entra_test_connection_random_guid_filter(scim: Scim) -> None:
    scim.create_user("jane@example.com")
    for attr in ("userName", "externalId", "id"):
        flt = f'{attr} eq "1c2b3a4d-5e6f-4a1b-9c8d-7e6f5a4b3c2d"'
        result = scim.get("/Users", params={"filter": flt})
        assert result.status_code == 200
        assert result.json["totalResults"] == 0 and result.json["Resources"] == []


def test_unsupported_filter_attribute_is_invalid_filter_naming_it(scim: Scim) -> None:
    body = assert_scim_error(scim.get("/Users", params={"filter": 'title eq "x"'}), 400,
                             "invalidFilter")  # fmt: skip
    assert "title" in body["detail"]
    assert_scim_error(scim.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter")


def test_filters_that_idps_send(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    scim.create_user("bob@example.com", emails=[{"value": "bob@corp", "type": "home"}])
    cases = {
        'userName eq "jane@example.com"': [jane["id"]],
        'externalId eq "00ujl29u0le5T6Aj10h7"': [jane["id"]],
        'emails[type eq "work"].value eq "jane@example.com"': [jane["id"]],
        'emails.value co "@example.com"': [jane["id"]],
        'userName sw "JANE" and active eq true': [jane["id"]],
        'name.familyName eq "doe"': [jane["id"]],
        'not (userName eq "jane@example.com")': None,
    }
    for flt, expected in cases.items():
        result = scim.get("/Users", params={"filter": flt})
        assert result.status_code == 200, (flt, result.text)
        ids = [r["id"] for r in result.json["Resources"]]
        if expected is None:
            assert jane["id"] not in ids and len(ids) == 1
        else:
            assert ids == expected, flt


def _make(scim: Scim, n: int) -> list[str]:
    return [scim.create_user(f"user{i:03d}@example.com")["id"] for i in range(n)]


def test_paging_per_rfc(scim: Scim) -> None:
    ids = _make(scim, 7)
    seen: list[str] = []
    start = 1
    while True:
        page = scim.get("/Users", params={"startIndex": str(start), "count": "3"}).json
        assert page["totalResults"] == 7
        assert isinstance(page["startIndex"], int) and page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"]) <= 3
        seen += [r["id"] for r in page["Resources"]]
        start += 3
        if start > page["totalResults"]:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    zero = scim.get("/Users", params={"count": "0"}).json
    assert zero["totalResults"] == 7 and zero["itemsPerPage"] == 0
    assert zero.get("Resources", []) == []
    negative = scim.get("/Users", params={"count": "-5", "startIndex": "-3"}).json
    assert negative["totalResults"] == 7 and negative["itemsPerPage"] == 0
    below = scim.get("/Users", params={"startIndex": "0", "count": "2"}).json
    assert below["startIndex"] == 1 and len(below["Resources"]) == 2
    beyond = scim.get("/Users", params={"startIndex": "100"}).json
    assert beyond["totalResults"] == 7 and beyond.get("Resources", []) == []


def test_okta_spec_count_one(scim: Scim) -> None:
    scim.post("/Users", OKTA_JANE)
    page = scim.get("/Users", params={"count": "1", "startIndex": "1"}).json
    user = page["Resources"][0]
    assert user["id"] and user["userName"] and user["active"] is True
    assert user["name"]["givenName"] == "Jane" and user["name"]["familyName"] == "Doe"
    assert user["emails"][0]["value"] == "jane@example.com"


def test_count_is_capped_at_max_results(api_store: Store, scim: Scim) -> None:
    _make(scim, 3)
    page = scim.get("/Users", params={"count": "100000000"}).json
    assert page["itemsPerPage"] == 3


def test_sorting(scim: Scim) -> None:
    for name in ("carol@x.io", "alice@x.io", "Bob@x.io"):
        scim.create_user(name)
    asc = scim.get("/Users", params={"sortBy": "userName"}).json["Resources"]
    assert [u["userName"].lower() for u in asc] == ["alice@x.io", "bob@x.io", "carol@x.io"]
    desc = scim.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"}).json
    assert [u["userName"] for u in desc["Resources"]][0] == "carol@x.io"


def test_attributes_projection(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    only = scim.get(f"/Users/{jane['id']}", params={"attributes": "userName"}).json
    assert only["id"] == jane["id"] and only["userName"] == "jane@example.com"
    assert "schemas" in only
    assert "emails" not in only and "name" not in only and "displayName" not in only
    listed = scim.get("/Users", params={"attributes": "emails,name.givenName"}).json
    first = listed["Resources"][0]
    assert first["emails"][0]["value"] == "jane@example.com"
    assert first["name"] == {"givenName": "Jane"}
    assert "userName" not in first
    excluded = scim.get(f"/Users/{jane['id']}", params={"excludedAttributes": "emails"}).json
    assert "emails" not in excluded and excluded["userName"] == "jane@example.com"


def test_put_replaces_and_ignores_read_only(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    body = dict(OKTA_JANE, displayName="Jane Q. Doe", id="forged", groups=[{"value": "g"}],
                meta={"created": "1999-01-01T00:00:00Z"})  # fmt: skip
    body.pop("emails")
    result = scim.put(f"/Users/{jane['id']}", body)
    assert result.status_code == 200, result.text
    assert result.json["id"] == jane["id"] and result.json["displayName"] == "Jane Q. Doe"
    assert "emails" not in result.json
    assert result.json["meta"]["created"] == jane["meta"]["created"]
    assert result.headers["etag"] != jane["meta"]["version"]


def test_put_unknown_id_is_404_never_creates(scim: Scim) -> None:
    assert_scim_error(scim.put("/Users/does-not-exist", OKTA_JANE), 404)
    assert scim.get("/Users").json["totalResults"] == 0


def test_if_match(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    old = jane["meta"]["version"]
    path = f"/Users/{jane['id']}"
    ok = scim.put(path, dict(OKTA_JANE, displayName="v2"), headers={"If-Match": old})
    assert ok.status_code == 200
    assert_scim_error(scim.put(path, dict(OKTA_JANE, displayName="v3"),
                               headers={"If-Match": old}), 412)  # fmt: skip
    assert_scim_error(
        scim.patch(
            path,
            patch_op({"op": "replace", "path": "displayName", "value": "v4"}),
            headers={"If-Match": old},
        ),
        412,
    )
    assert_scim_error(scim.delete(path, headers={"If-Match": old}), 412)
    assert scim.get(path).json["displayName"] == "v2"
    star = scim.patch(path, patch_op({"op": "replace", "path": "displayName", "value": "v5"}),
                      headers={"If-Match": "*"})  # fmt: skip
    assert star.status_code == 200
    current = star.headers["etag"]
    assert scim.delete(path, headers={"If-Match": current}).status_code == 204


def test_patch_entra_default_dialect(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    path = f"/Users/{jane['id']}"
    body = patch_op(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
        {"op": "Replace", "path": f"{ENTERPRISE_URN}:employeeNumber", "value": "701984"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
    )
    result = scim.patch(path, body)
    assert result.status_code == 200, result.text
    user = result.json
    assert user["emails"][0]["value"] == "b@example.com"
    assert user["name"]["givenName"] == "Barbara" and user["nickName"] == "Babs"
    assert user[ENTERPRISE_URN]["employeeNumber"] == "701984"
    assert result.headers["etag"] == user["meta"]["version"] != jane["meta"]["version"]
    off = scim.patch(path, {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert off.status_code == 200 and off.json["active"] is False


def test_failed_patch_changes_nothing(scim: Scim) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    path = f"/Users/{jane['id']}"
    body = patch_op({"op": "replace", "path": "displayName", "value": "Changed"},
                    {"op": "remove"})  # fmt: skip
    assert_scim_error(scim.patch(path, body), 400, "noTarget")
    after = scim.get(path).json
    assert after["displayName"] == "Jane Doe"
    assert after["meta"]["version"] == jane["meta"]["version"]


@pytest.mark.parametrize(
    "body, scim_type",
    [({"Operations": []}, "invalidSyntax"), ({"Operations": "x"}, "invalidSyntax"),
     ({}, "invalidSyntax"), ({"Operations": [{"op": "jump", "path": "x"}]}, "invalidSyntax"),
     ({"schemas": ["urn:nope"], "Operations": [{"op": "remove", "path": "title"}]},
      "invalidSyntax"),
     ({"Operations": [{"op": "replace", "path": "nope[[", "value": 1}]}, "invalidPath"),
     ({"Operations": [{"op": "replace", "path": "bogus", "value": "x"}]}, "invalidPath"),
     ({"Operations": [{"op": "replace", "path": "id", "value": "x"}]}, "mutability"),
     ({"Operations": [{"op": "remove"}]}, "noTarget"),
     ({"Operations": [{"op": "replace", "path": "active", "value": "perhaps"}]}, "invalidValue")],
)  # fmt: skip
def test_bad_patches(scim: Scim, body: dict[str, Any], scim_type: str) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    assert_scim_error(scim.patch(f"/Users/{jane['id']}", body), 400, scim_type)
    assert scim.get(f"/Users/{jane['id']}").json["meta"]["version"] == jane["meta"]["version"]


def test_delete_then_404_everywhere_and_audit_kept(scim: Scim, api_store: Store) -> None:
    jane = scim.post("/Users", OKTA_JANE).json
    group = scim.create_group("Eng", [jane["id"]])
    path = f"/Users/{jane['id']}"
    result = scim.delete(path)
    assert result.status_code == 204 and result.text == ""
    assert_scim_error(scim.get(path), 404)
    assert_scim_error(scim.put(path, OKTA_JANE), 404)
    assert_scim_error(scim.patch(path, patch_op({"op": "replace", "value": {"active": True}})), 404)
    assert_scim_error(scim.delete(path), 404)
    assert (
        scim.get("/Users", params={"filter": 'userName eq "jane@example.com"'}).json["totalResults"]
        == 0
    )
    members = scim.get(f"/Groups/{group['id']}").json.get("members", [])
    assert jane["id"] not in [m["value"] for m in members]
    actions = [e.action for e in audit_events(api_store, "user", jane["id"])]
    assert len(actions) >= 2


def test_enterprise_extension_round_trips(scim: Scim) -> None:
    body = {
        "schemas": [USER_URN, ENTERPRISE_URN], "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.com", "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [],
        ENTERPRISE_URN: {"employeeNumber": "1234", "department": "Eng",
                         "manager": {"value": "boss-id"}},
    }  # fmt: skip
    created = scim.post("/Users", body)
    assert created.status_code == 201, created.text
    ext = scim.get(f"/Users/{created.json['id']}").json[ENTERPRISE_URN]
    assert ext["employeeNumber"] == "1234" and ext["department"] == "Eng"
    assert ext["manager"]["value"] == "boss-id"


def test_query_parameter_names_in_any_case(scim: Scim) -> None:
    _make(scim, 3)
    page = scim.get("/Users", params={"STARTINDEX": "2", "Count": "1", "FILTER": "userName pr"})
    assert page.status_code == 200
    assert page.json["startIndex"] == 2 and page.json["itemsPerPage"] == 1
    assert page.json["totalResults"] == 3


def test_attributes_on_write_responses(scim: Scim) -> None:
    result = scim.post("/Users", OKTA_JANE, params={"attributes": "userName"})
    assert result.status_code == 201
    assert "emails" not in result.json and "name" not in result.json
    assert result.json["userName"] == "jane@example.com" and result.json["id"]
    assert result.headers["location"].endswith(result.json["id"])
