"""Discovery documents tell the truth; .search endpoints behave like list queries."""

from __future__ import annotations

from dataclasses import replace

from api.app import create_app
from store.context import Store
from store.services.tokens import issue_token
from tests.api.conftest import (
    ENTERPRISE_URN,
    GROUP_URN,
    LIST_URN,
    USER_URN,
    Scim,
    assert_scim_error,
    patch_op,
)

SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SP_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIMITS_URN = "urn:tridentstack:params:scim:schemas:extension:limits:2.0:ServiceProviderConfig"


def test_service_provider_config_matches_behaviour(scim: Scim) -> None:
    config = scim.get("/ServiceProviderConfig").json
    assert config["patch"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["filter"]["supported"] is True and config["filter"]["maxResults"] == 1000
    assert config["etag"]["supported"] is True and config["sort"]["supported"] is True
    assert config["changePassword"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_service_provider_config_rendered_once_is_the_document_rendered_per_request(
    scim: Scim,
) -> None:
    """Without a query string the document is bytes rendered at start; with one (here a
    parameter every SCIM client may send and that changes nothing) it is rendered for the
    request. Both are the same response."""
    whole = scim.get("/ServiceProviderConfig")
    rendered = scim.get("/ServiceProviderConfig", params={"unknownParameter": "1"})
    assert whole.status_code == rendered.status_code == 200
    assert whole.content == rendered.content
    assert whole.headers["Content-Type"] == rendered.headers["Content-Type"]
    assert whole.headers["Content-Type"].startswith("application/scim+json")
    assert whole.json["meta"]["resourceType"] == "ServiceProviderConfig"
    assert LIMITS_URN not in whole.json


def test_advertised_limits_are_the_enforced_ones(api_store: Store) -> None:
    api = replace(api_store.settings.api, max_results=2, max_operations=3, max_body_bytes=4000)
    small = replace(api_store, settings=replace(api_store.settings, api=api))
    scim = Scim(create_app(small), issue_token(small, "t", "op", rate_limit=10**6).secret)
    config = scim.get("/ServiceProviderConfig", params={"attributes": LIMITS_URN}).json
    assert config["schemas"] == [SP_CONFIG_URN, LIMITS_URN]
    limits = config[LIMITS_URN]
    assert limits["maxResults"] == 2 and limits["maxOperations"] == 3
    assert limits["maxPayloadSize"] == 4000
    core = scim.get("/ServiceProviderConfig").json
    assert core["filter"]["maxResults"] == 2 and core["bulk"]["maxPayloadSize"] == 4000
    assert "maxOperations" not in core["patch"] and LIMITS_URN not in core
    users = [scim.create_user(f"u{i}@x.io") for i in range(3)]
    page = scim.get("/Users", params={"count": "50"}).json
    assert page["totalResults"] == 3 and page["itemsPerPage"] == 2
    ops = [{"op": "replace", "path": "displayName", "value": str(i)} for i in range(3)]
    assert scim.patch(f"/Users/{users[0]['id']}", patch_op(*ops)).status_code == 200
    too_many = scim.patch(f"/Users/{users[0]['id']}", patch_op(*ops, ops[0]))
    assert_scim_error(too_many, 400, too_many.json.get("scimType"))
    big = {"schemas": [USER_URN], "userName": "big@x.io", "title": "x" * 4000}
    assert_scim_error(scim.post("/Users", big), 413)
    assert scim.post("/Users", dict(big, title="x" * 3000)).status_code == 201


def test_resource_types_and_schemas(scim: Scim) -> None:
    types = scim.get("/ResourceTypes").json
    assert types["schemas"] == [LIST_URN] and types["totalResults"] == 2
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    user_type = scim.get("/ResourceTypes/User").json
    assert user_type["schema"] == USER_URN
    assert user_type["schemaExtensions"][0]["schema"] == ENTERPRISE_URN
    assert_scim_error(scim.get("/ResourceTypes/Printer"), 404)
    schemas = scim.get("/Schemas").json
    assert {s["id"] for s in schemas["Resources"]} == {USER_URN, ENTERPRISE_URN, GROUP_URN,
                                                       LIMITS_URN}  # fmt: skip
    assert scim.get(f"/Schemas/{LIMITS_URN}").json["name"] == "Limits"
    user_schema = scim.get(f"/Schemas/{USER_URN}").json
    names = {a["name"] for a in user_schema["attributes"]}
    assert {"userName", "name", "emails", "active", "displayName", "groups"} <= names
    assert (
        "password" not in names
        or next(a for a in user_schema["attributes"] if a["name"] == "password")["returned"]
        == "never"
    )
    assert_scim_error(scim.get("/Schemas/urn:nope"), 404)


def test_discovery_requires_the_token(scim: Scim) -> None:
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        assert scim.get(path, token=None).status_code == 401


def test_users_search(scim: Scim) -> None:
    jane = scim.create_user("jane@example.com", displayName="Jane")
    scim.create_user("bob@example.com")
    body = {"schemas": [SEARCH_URN], "filter": 'userName eq "JANE@example.com"',
            "attributes": ["userName"], "startIndex": 1, "count": 10}  # fmt: skip
    result = scim.post("/Users/.search", body)
    assert result.status_code == 200, result.text
    assert result.json["totalResults"] == 1
    found = result.json["Resources"][0]
    assert found["id"] == jane["id"] and "displayName" not in found
    bad = scim.post("/Users/.search", {"schemas": [SEARCH_URN], "filter": 'title eq "x"'})
    assert_scim_error(bad, 400, "invalidFilter")


def test_groups_search(scim: Scim) -> None:
    scim.create_group("Eng")
    result = scim.post("/Groups/.search", {"schemas": [SEARCH_URN],
                                           "filter": 'displayName eq "eng"',
                                           "excludedAttributes": ["members"]})  # fmt: skip
    assert result.status_code == 200, result.text
    assert result.json["totalResults"] == 1 and "members" not in result.json["Resources"][0]


def test_root_search_spans_users_and_groups(scim: Scim) -> None:
    for i in range(3):
        scim.create_user(f"u{i}@x.io")
    for i in range(2):
        scim.create_group(f"g{i}")
    everything = scim.post("/.search", {"schemas": [SEARCH_URN]}).json
    assert everything["totalResults"] == 5 and len(everything["Resources"]) == 5
    page = scim.post("/.search", {"schemas": [SEARCH_URN], "startIndex": 3, "count": 2}).json
    assert page["totalResults"] == 5 and page["startIndex"] == 3
    kinds = [r["meta"]["resourceType"] for r in page["Resources"]]
    assert kinds == ["User", "Group"]
    only_groups = scim.post("/.search", {"schemas": [SEARCH_URN],
                                         "filter": 'members.value pr'}).json  # fmt: skip
    assert only_groups["totalResults"] == 0
    named = scim.post("/.search", {"schemas": [SEARCH_URN], "filter": 'displayName sw "g"'}).json
    assert named["totalResults"] == 2
    assert_scim_error(scim.post("/.search", {"schemas": [SEARCH_URN], "filter": "nope eq 1"}),
                      400, "invalidFilter")  # fmt: skip


def test_search_body_must_be_an_object(scim: Scim) -> None:
    result = scim.post("/Users/.search", ["x"])
    assert result.status_code == 400
    assert_scim_error(result, 400, result.json.get("scimType"))
