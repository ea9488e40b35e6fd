"""Resource endpoint names in any case (``/scim/v2/users`` answered as ``/scim/v2/Users``).

RFC 7644 §3 spells the endpoints ``/Users``, ``/Groups``, ``/ServiceProviderConfig``, ... and
URL paths are case-sensitive, but some clients lower-case them. Answering them costs nothing:
only the base path, the endpoint name and a collection's ``.search`` are re-spelt; resource
ids (case-exact) and anything this service does not serve are left as they are. Pure.
"""

from __future__ import annotations

BASE_PATH = "/scim/v2"
ENDPOINTS = ("Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", ".search")
_CANONICAL = {name.lower(): name for name in ENDPOINTS}
_SEARCHABLE = ("Users", "Groups")


def canonical_path(path: str) -> str:
    """``path`` with the SCIM base path and endpoint name in their canonical spelling."""
    head, rest = path[: len(BASE_PATH)], path[len(BASE_PATH) :]
    if head.lower() != BASE_PATH or rest[:1] not in ("", "/"):
        return path
    parts = rest.split("/")  # ["", endpoint, id or .search, ...]
    if len(parts) > 1:
        parts[1] = _CANONICAL.get(parts[1].lower(), parts[1])
    if len(parts) == 3 and parts[1] in _SEARCHABLE and parts[2].lower() == ".search":
        parts[2] = ".search"
    return BASE_PATH + "/".join(parts)
