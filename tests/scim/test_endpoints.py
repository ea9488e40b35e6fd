"""Endpoint names in any case map to the canonical routes; ids and unknown paths do not."""

from __future__ import annotations

import pytest

from api.scim.endpoints import canonical_path

CASES = [
    ("/scim/v2/users", "/scim/v2/Users"),
    ("/scim/v2/USERS/AbC123", "/scim/v2/Users/AbC123"),
    ("/SCIM/V2/groups/.SEARCH", "/scim/v2/Groups/.search"),
    ("/scim/v2/serviceproviderconfig", "/scim/v2/ServiceProviderConfig"),
    ("/scim/v2/resourcetypes/user", "/scim/v2/ResourceTypes/user"),
    ("/scim/v2/schemas", "/scim/v2/Schemas"),
    ("/scim/v2/.SEARCH", "/scim/v2/.search"),
    ("/scim/v2/Users", "/scim/v2/Users"),
    ("/scim/v2", "/scim/v2"),
    ("/scim/v2/printers", "/scim/v2/printers"),
    ("/scim/v2/users/.search/x", "/scim/v2/Users/.search/x"),
    ("/scim/v2x/users", "/scim/v2x/users"),
    ("/healthz", "/healthz"),
    ("/auth/session", "/auth/session"),
]


@pytest.mark.parametrize(("path", "expected"), CASES)
def test_canonical_path(path: str, expected: str) -> None:
    assert canonical_path(path) == expected
