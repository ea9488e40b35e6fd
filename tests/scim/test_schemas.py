"""Discovery documents tell the truth; the error vocabulary matches RFC 7644 §3.12."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from scim2_models import Context, ResourceType, Schema, ServiceProviderConfig

from api.scim import errors
from api.scim.errors import ScimError
from api.scim.limits import Limits
from api.scim.mapping import user_input_from_scim
from api.scim.schemas import (
    canonical_name,
    find_schema_document,
    is_multi_valued,
    is_read_only,
    resource_type,
    resource_types,
    schemas_documents,
    service_provider_config,
)
from api.scim.urns import SP_CONFIG
from tests.scim.payloads import BASE, CORE, ENTERPRISE, GROUP

LIMITS = Limits(max_payload_bytes=1_048_576, max_results=1000, max_operations=250,
                max_filter_length=4096, max_filter_depth=20,
                max_filter_comparisons=200)  # fmt: skip
LIMITS_URN = "urn:tridentstack:params:scim:schemas:extension:limits:2.0:ServiceProviderConfig"


def test_service_provider_config() -> None:
    config = service_provider_config(BASE, LIMITS)
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 1_048_576}
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["changePassword"] == {"supported": False}
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    (scheme,) = config["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken" and scheme["primary"] is True
    assert config["meta"] == {"resourceType": "ServiceProviderConfig",
                              "location": f"{BASE}/ServiceProviderConfig"}  # fmt: skip
    assert LIMITS_URN not in config


def test_the_limits_extension_is_returned_when_asked_for() -> None:
    config = service_provider_config(BASE, LIMITS, [LIMITS_URN.upper()])
    assert config["schemas"] == [SP_CONFIG, LIMITS_URN]
    assert config[LIMITS_URN] == {
        "maxPayloadSize": 1_048_576, "maxResults": 1000, "maxOperations": 250,
        "maxFilterLength": 4096, "maxFilterDepth": 20, "maxFilterComparisons": 200,
        "maxIdLength": 64, "maxUserNameLength": 512, "maxExternalIdLength": 512,
        "maxDisplayNameLength": 1024, "maxNamePartLength": 512, "maxEmailLength": 512,
        "maxEmailTypeLength": 64, "maxStringLength": 8192, "maxPathLength": 4096,
    }  # fmt: skip
    assert "patch" not in config  # attributes= selects, as for any resource
    one = service_provider_config(BASE, LIMITS, [f"{LIMITS_URN}:maxOperations", "patch"])
    assert one[LIMITS_URN] == {"maxOperations": 250} and one["patch"] == {"supported": True}
    assert LIMITS_URN not in service_provider_config(BASE, LIMITS, ["patch"])
    assert LIMITS_URN not in service_provider_config(BASE, LIMITS, None, ["etag"])


def test_discovery_documents_validate_against_strict_rfc_models() -> None:
    """Strict clients (unknown members forbidden) must be able to read every document."""
    strict = {"scim": Context.RESOURCE_QUERY_RESPONSE}
    ServiceProviderConfig.model_validate(service_provider_config(BASE, LIMITS), context=strict)
    for document in resource_types(BASE):
        ResourceType.model_validate(document, context=strict)
    for document in schemas_documents(BASE):
        Schema.model_validate(document, context=strict)
    with pytest.raises(ValidationError):  # the extension is for clients that know it
        ServiceProviderConfig.model_validate(
            service_provider_config(BASE, LIMITS, [LIMITS_URN]), context=strict
        )


def test_the_limits_schema_is_served() -> None:
    documents = {d["id"]: d for d in schemas_documents(BASE)}
    limits = documents[LIMITS_URN]
    assert find_schema_document(BASE, LIMITS_URN.lower()) == limits
    attributes = _attributes(limits)
    assert set(attributes) == set(LIMITS.to_extension())
    assert {(a["type"], a["mutability"], a["returned"]) for a in attributes.values()} == {
        ("integer", "readOnly", "request")
    }


def test_resource_types() -> None:
    user, group = resource_types(BASE)
    assert (user["endpoint"], user["schema"]) == ("/Users", CORE)
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert (group["endpoint"], group["schema"]) == ("/Groups", GROUP)
    assert group["meta"]["location"] == f"{BASE}/ResourceTypes/Group"
    assert resource_type(BASE, "user") == user
    assert resource_type(BASE, "Device") is None


def _attributes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in doc["attributes"]}


def test_schema_documents() -> None:
    user, enterprise, group, _limits = schemas_documents(BASE)
    assert [d["id"] for d in (user, enterprise, group)] == [CORE, ENTERPRISE, GROUP]
    users = _attributes(user)
    assert users["userName"]["required"] is True
    assert users["userName"]["uniqueness"] == "server"
    assert users["groups"]["mutability"] == "readOnly"
    assert users["active"]["type"] == "boolean"
    assert users["emails"]["multiValued"] is True
    assert "password" not in users  # never stored: not offered
    assert {"name", "emails", "phoneNumbers", "addresses", "ims", "photos", "entitlements",
            "roles", "x509Certificates"} <= set(users)  # fmt: skip
    manager = _attributes(enterprise)["manager"]
    assert [s["name"] for s in manager["subAttributes"]] == ["value", "$ref", "displayName"]
    members = _attributes(group)["members"]
    assert {s["name"] for s in members["subAttributes"]} == {"value", "$ref", "display", "type"}
    assert user["meta"]["location"] == f"{BASE}/Schemas/{CORE}"
    assert find_schema_document(BASE, ENTERPRISE.upper()) == enterprise
    assert find_schema_document(BASE, "urn:nothing") is None


SAMPLES = {"string": "x", "boolean": True, "reference": "https://x", "binary": "TUlJ"}


def _sample(attr: dict[str, Any]) -> Any:
    if attr["type"] != "complex":
        value: Any = SAMPLES[attr["type"]]
    else:
        value = {s["name"]: SAMPLES[s["type"]] for s in attr["subAttributes"]
                 if s["mutability"] != "readOnly" and s["name"] != "primary"}  # fmt: skip
    return [value] if attr["multiValued"] else value


def test_every_advertised_writable_attribute_is_kept_and_read_only_ones_are_not() -> None:
    user, enterprise, *_ = schemas_documents(BASE)
    body: dict[str, Any] = {"schemas": [CORE, ENTERPRISE], ENTERPRISE: {}}
    for attr in user["attributes"]:
        body[attr["name"]] = _sample(attr)
    for attr in enterprise["attributes"]:
        body[ENTERPRISE][attr["name"]] = _sample(attr)
    document = user_input_from_scim(body).document
    for doc, where in ((user, document), (enterprise, document[ENTERPRISE])):
        for attr in doc["attributes"]:
            kept = attr["name"] in where or attr["name"] in ("userName", "active")
            assert kept == (attr["mutability"] != "readOnly"), attr["name"]


def test_catalogue_helpers() -> None:
    assert canonical_name("USERNAME") == "userName"
    assert canonical_name("name.GIVENNAME") == "name.givenName"
    assert canonical_name("MANAGER.value", ENTERPRISE) == "manager.value"
    assert canonical_name("nope") is None
    assert is_read_only("groups") and is_read_only("ID") and is_read_only("meta.created")
    assert is_read_only("manager.displayName", ENTERPRISE)
    assert not is_read_only("manager.value", ENTERPRISE) and not is_read_only("userName")
    assert is_multi_valued("emails") and is_multi_valued("members", GROUP)
    assert not is_multi_valued("name")


ERRORS = [
    (errors.invalid_filter, 400, "invalidFilter"),
    (errors.invalid_syntax, 400, "invalidSyntax"),
    (errors.invalid_value, 400, "invalidValue"),
    (errors.invalid_path, 400, "invalidPath"),
    (errors.no_target, 400, "noTarget"),
    (errors.mutability, 400, "mutability"),
    (errors.uniqueness, 409, "uniqueness"),
    (errors.too_many, 400, "tooMany"),
    (errors.not_found, 404, None),
    (errors.precondition_failed, 412, None),
    (errors.invalid_version, 400, "invalidVers"),
]


@pytest.mark.parametrize(("factory", "status", "scim_type"), ERRORS)
def test_error_factories(factory: Any, status: int, scim_type: str | None) -> None:
    error = factory("what went wrong")
    assert isinstance(error, ScimError)
    assert (error.status, error.scim_type, error.detail) == (status, scim_type, "what went wrong")
    body = error.to_body()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body["detail"] == "what went wrong"
    assert ("scimType" in body) == (scim_type is not None)


def test_constants() -> None:
    assert errors.SCIM_CONTENT_TYPE == "application/scim+json"
    assert errors.USER == CORE and errors.GROUP == GROUP and errors.ENTERPRISE_USER == ENTERPRISE
    assert errors.LIST_RESPONSE.endswith(":ListResponse")
    assert errors.PATCH_OP.endswith(":PatchOp")
    assert errors.SEARCH_REQUEST.endswith(":SearchRequest")
    assert errors.SP_CONFIG.endswith(":ServiceProviderConfig")
    assert errors.RESOURCE_TYPE.endswith(":ResourceType") and errors.SCHEMA.endswith(":Schema")
