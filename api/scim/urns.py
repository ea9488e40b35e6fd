"""Schema URNs and the media type of SCIM 2.0 (RFC 7643 §8.7, RFC 7644 §3.1, §8.1).

Constants only: no behaviour lives here, so every module of the protocol core (and the edges)
can import it without pulling anything else in.
"""

from __future__ import annotations

SCIM_CONTENT_TYPE = "application/scim+json"

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SP_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
"""Extra schema Entra ID lists when it creates a group; it carries no attribute we keep."""

LIMITS = "urn:tridentstack:params:scim:schemas:extension:limits:2.0:ServiceProviderConfig"
"""This service's own extension of ``/ServiceProviderConfig``: the limits it enforces that
RFC 7643 §5 has no member for. A URN namespace of the product, not under ``urn:ietf`` (which
IANA manages); returned only when asked for with ``attributes`` (see ``api.scim.limits``)."""

RESOURCE_SCHEMAS = (USER, ENTERPRISE_USER, GROUP)
"""The schemas whose attributes this service stores, in the order /Schemas lists them."""
