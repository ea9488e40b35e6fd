"""Schema definitions and the discovery documents of RFC 7644 §4.

``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` are built from the same
attribute catalogue the mapping and PATCH engine enforce, and from the limits the service
really applies, so they tell the truth: PATCH, filtering, sorting and ETags are supported;
bulk and password changes are not. Every document validates against strict RFC 7643 models
(no member outside the RFC's; this service's own limits are an extension, ``api.scim.limits``).
Pure: the base URL and limits are passed in.
"""

from __future__ import annotations

from typing import Any

from api.scim.attributes import (  # noqa: F401  (re-exported: the schema API lives here)
    COMMON_ATTRIBUTES,
    ENTERPRISE_ATTRIBUTES,
    GROUP_ATTRIBUTES,
    SCHEMA_ATTRIBUTES,
    USER_ATTRIBUTES,
    Attr,
    canonical_name,
    find_attribute,
    is_multi_valued,
    is_read_only,
    known_schema,
)
from api.scim.limits import Limits, asked_for, limits_schema
from api.scim.projection import project
from api.scim.urns import (
    ENTERPRISE_USER,
    GROUP,
    LIMITS,
    RESOURCE_TYPE,
    SCHEMA,
    SP_CONFIG,
    USER,
)

_SCHEMA_NAMES = {
    USER: ("User", "User Account"),
    ENTERPRISE_USER: ("EnterpriseUser", "Enterprise User"),
    GROUP: ("Group", "Group"),
}


def service_provider_config(
    base_url: str,
    limits: Limits,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> dict[str, Any]:
    """RFC 7643 §5, with only its members; the limits it has no member for are in the
    ``LIMITS`` extension, returned when ``attributes`` asks for it (``api.scim.limits``)."""
    document: dict[str, Any] = {
        "schemas": [SP_CONFIG, LIMITS],
        "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
        "patch": {"supported": True},
        "bulk": {
            "supported": False,
            "maxOperations": 0,
            "maxPayloadSize": limits.max_payload_bytes,
        },  # fmt: skip
        "filter": {"supported": True, "maxResults": limits.max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token generated in TridentStack Control, sent as "
                "'Authorization: Bearer <token>'.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        LIMITS: limits.to_extension(),
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }
    if not asked_for(attributes):
        del document[LIMITS]  # returned "request": only when asked for
    shown = project(document, SP_CONFIG, attributes, excluded)
    shown["schemas"] = [urn for urn in (SP_CONFIG, LIMITS) if urn == SP_CONFIG or urn in shown]
    return shown


def resource_types(base_url: str) -> list[dict[str, Any]]:
    """RFC 7643 §6: Users (with the optional Enterprise extension) and Groups."""
    user = {
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
    }
    group = {
        "schemas": [RESOURCE_TYPE],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP,
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/Group"},
    }
    return [user, group]


def schema_document(base_url: str, urn: str) -> dict[str, Any]:
    """RFC 7643 §7 representation of one schema (common attributes are not repeated)."""
    name, description = _SCHEMA_NAMES[urn]
    return {
        "schemas": [SCHEMA],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": [a.to_document() for a in SCHEMA_ATTRIBUTES[urn] if a.advertised],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{urn}"},
    }


def schemas_documents(base_url: str) -> list[dict[str, Any]]:
    """The resource schemas, then this service's ``ServiceProviderConfig`` extension."""
    resources = [schema_document(base_url, urn) for urn in (USER, ENTERPRISE_USER, GROUP)]
    return [*resources, limits_schema(base_url)]


def resource_type(base_url: str, name: str) -> dict[str, Any] | None:
    """One resource type by id ("User" / "Group", any case), for /ResourceTypes/{id}."""
    return next((r for r in resource_types(base_url) if r["id"].lower() == name.lower()), None)


def find_schema_document(base_url: str, urn: str) -> dict[str, Any] | None:
    """One schema by URN (any case), for /Schemas/{id}."""
    if urn.lower() == LIMITS.lower():
        return limits_schema(base_url)
    known = known_schema(urn)
    return schema_document(base_url, known) if known else None
