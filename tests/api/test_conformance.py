"""RFC 7643/7644 points strict third-party clients check, over HTTP (falcon.testing):
the enterprise extension written whole, refused misspellings, member ``display``, and
resource endpoints answered in any case."""

from __future__ import annotations

from scim2_models import Context, ResourceType, Schema, ServiceProviderConfig

from tests.api.conftest import (
    ENTERPRISE_URN,
    GROUP_URN,
    USER_URN,
    Scim,
    assert_scim_error,
    patch_op,
)


def test_patch_of_the_whole_extension_ignores_its_schemas_member(scim: Scim) -> None:
    user = scim.create_user("ext@example.com")
    manager = scim.create_user("boss@example.com")
    value = {"schemas": [ENTERPRISE_URN], "employeeNumber": "42",
             "manager": {"value": manager["id"]}}  # fmt: skip
    for op in ("add", "replace"):
        operation = {"op": op, "path": ENTERPRISE_URN, "value": value}
        answer = scim.patch(f"/Users/{user['id']}", patch_op(operation))
        assert answer.status_code == 200, answer.json
        extension = scim.get(f"/Users/{user['id']}").json[ENTERPRISE_URN]
        assert extension["employeeNumber"] == "42"
        assert extension["manager"]["value"] == manager["id"]
        assert "schemas" not in extension


def test_patch_path_under_an_unknown_schema_is_refused(scim: Scim) -> None:
    user = scim.create_user("typo@example.com")
    before = scim.get(f"/Users/{user['id']}").json
    for path in (f"{ENTERPRISE_URN}.manager", "urn:example:custom:2.0:User:badge"):
        operation = {"op": "add", "path": path, "value": {"value": "x"}}
        answer = scim.patch(f"/Users/{user['id']}", patch_op(operation))
        assert_scim_error(answer, 400, "invalidPath")
    assert scim.get(f"/Users/{user['id']}").json == before
    group = scim.create_group("Eng")
    answer = scim.patch(f"/Groups/{group['id']}", patch_op(
        {"op": "replace", "path": "urn:example:custom:2.0:Group:x", "value": "y"}))  # fmt: skip
    assert_scim_error(answer, 400, "invalidPath")


def test_member_display_is_returned_only_when_asked_for(scim: Scim) -> None:
    jane = scim.create_user("jane@example.com")
    group = scim.create_group("Eng", [jane["id"]])
    assert [set(m) for m in group["members"]] == [{"value", "$ref", "type"}]
    added = {"op": "add", "path": "members", "value": [{"value": jane["id"]}]}
    answer = scim.patch(f"/Groups/{group['id']}", patch_op(added),
                        params={"attributes": "members"})  # fmt: skip
    assert [set(m) for m in answer.json["members"]] == [{"value", "$ref", "type"}]
    assert "display" not in scim.get(f"/Groups/{group['id']}").json["members"][0]
    asked = scim.get(f"/Groups/{group['id']}", params={"attributes": "members.display"}).json
    assert asked["members"] == [{"display": "jane@example.com"}]
    listed = scim.get("/Groups", params={"attributes": "members.value,members.display"}).json
    assert listed["Resources"][0]["members"] == [
        {"value": jane["id"], "display": "jane@example.com"}
    ]


def test_a_filter_given_as_attributes_is_refused(scim: Scim) -> None:
    jane = scim.create_user("jane@example.com")
    for name in ("attributes", "excludedAttributes"):
        for path in ("/Users", f"/Users/{jane['id']}", "/Groups", "/ServiceProviderConfig"):
            answer = scim.get(path, params={name: 'userName eq "jane@example.com"'})
            assert_scim_error(answer, 400, "invalidValue")
            assert name in answer.json["detail"]
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
              "attributes": ["userName pr"]}  # fmt: skip
    assert_scim_error(scim.post("/Users/.search", search), 400, "invalidValue")
    fine = scim.get("/Users", params={"attributes": "userName,unknownAttribute"}).json
    assert fine["Resources"] == [{"schemas": [USER_URN], "id": jane["id"],
                                  "userName": "jane@example.com"}]  # fmt: skip


def test_put_and_post_refuse_unknown_schema_urns_but_ignore_unknown_plain_names(
    scim: Scim,
) -> None:
    user = scim.create_user("put@example.com")
    before = scim.get(f"/Users/{user['id']}").json
    base = {"schemas": [USER_URN, ENTERPRISE_URN], "userName": "put@example.com"}
    misspelt = {**base, ENTERPRISE_URN.replace(":User", ".User"): {"employeeNumber": "7"}}
    for body in (misspelt, {**base, "urn:example:custom:2.0:User": {"badge": "7"}}):
        assert_scim_error(scim.put(f"/Users/{user['id']}", body), 400, "invalidSyntax")
        assert_scim_error(scim.post("/Users", {**body, "userName": "new@x.io"}), 400,
                          "invalidSyntax")  # fmt: skip
    assert scim.get(f"/Users/{user['id']}").json == before
    assert scim.get("/Users").json["totalResults"] == 1
    lenient = scim.put(f"/Users/{user['id']}", {**base, "nickNmae": "typo", "title": "T"})
    assert lenient.status_code == 200 and lenient.json["title"] == "T"
    assert "nickNmae" not in lenient.json


def test_endpoints_are_answered_in_any_case(scim: Scim) -> None:
    jane = scim.create_user("jane@example.com")
    assert scim.get("/users").json["totalResults"] == 1
    assert scim.get(f"/USERS/{jane['id']}").json["id"] == jane["id"]
    assert scim.get(f"/users/{jane['id'].upper()}").status_code == 404  # ids stay exact
    created = scim.post("/groups", {"schemas": [GROUP_URN], "displayName": "Eng"})
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"/scim/v2/Groups/{created.json['id']}")
    assert scim.get("/serviceproviderconfig").json["patch"] == {"supported": True}
    assert scim.get("/resourcetypes").json["totalResults"] == 2
    assert scim.get("/SCHEMAS").json["totalResults"] == 4
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    assert scim.post("/users/.SEARCH", search).json["totalResults"] == 1
    assert scim.get("/users", token=None).status_code == 401  # the token is still required
    assert_scim_error(scim.get("/printers"), 404)


def test_external_id_is_not_unique_and_filters_return_every_holder(scim: Scim) -> None:
    """RFC 7643 §3.1: the client owns externalId; the server does not enforce uniqueness."""
    first = scim.create_user("a@example.com", externalId="shared")
    second = scim.post("/Users", {"schemas": [USER_URN], "userName": "b@example.com",
                                  "externalId": "shared"})  # fmt: skip
    assert second.status_code == 201 and second.json["id"] != first["id"]
    third = scim.create_user("c@example.com")
    operation = {"op": "replace", "path": "externalId", "value": "shared"}
    moved = scim.patch(f"/Users/{third['id']}", patch_op(operation))
    assert moved.status_code == 200
    listed = scim.get("/Users", params={"filter": 'externalId eq "shared"'}).json
    assert listed["totalResults"] == 3
    assert {u["id"] for u in listed["Resources"]} == {first["id"], second.json["id"], third["id"]}
    assert scim.get("/Users", params={"filter": 'externalId eq "SHARED"'}).json["totalResults"] == 0
    bodies = [{"schemas": [GROUP_URN], "displayName": name, "externalId": "g-shared"}
              for name in ("Eng", "Ops")]  # fmt: skip
    groups = [scim.post("/Groups", body) for body in bodies]
    assert [g.status_code for g in groups] == [201, 201]
    found = scim.get("/Groups", params={"filter": 'externalId eq "g-shared"'}).json
    assert found["totalResults"] == 2


def test_discovery_documents_validate_against_strict_models(scim: Scim) -> None:
    strict = {"scim": Context.RESOURCE_QUERY_RESPONSE}
    ServiceProviderConfig.model_validate(scim.get("/ServiceProviderConfig").json, context=strict)
    for path, model in (("/ResourceTypes", ResourceType), ("/Schemas", Schema)):
        for document in scim.get(path).json["Resources"]:
            model.model_validate(document, context=strict)
            item = scim.get(f"{path}/{document['id']}").json
            assert model.model_validate(item, context=strict).id == document["id"]


def test_urn_qualified_member_attributes_load_the_members(scim: Scim) -> None:
    jane = scim.create_user("jane@example.com")
    group = scim.create_group("Eng", [jane["id"]])
    qualified = f"{GROUP_URN}:members.display"
    shown = scim.get(f"/Groups/{group['id']}", params={"attributes": qualified}).json
    assert shown["members"] == [{"display": "jane@example.com"}]
    hidden = scim.get(
        f"/Groups/{group['id']}", params={"excludedAttributes": f"{GROUP_URN}:members"}
    )
    assert "members" not in hidden.json
