"""Property tests of the pure SCIM core: whatever a client sends, the only failure is a
``ScimError``, and a failed PATCH changes nothing."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.scim.errors import ScimError
from api.scim.filter import parse_filter, parse_path
from api.scim.mapping import group_input_from_scim, user_input_from_scim, user_to_scim
from api.scim.paging import search_request_from_body
from api.scim.patch import apply_user_patch, parse_patch_request, plan_group_patch
from tests.scim.payloads import BASE, ENTERPRISE, ENTRA_CREATE, OKTA_CREATE, user_record

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    "userName", "USERNAME", "emails", "emails.value", "emails.type", "name.givenName", "active",
    "meta.created", "members", "members.value", "displayName", "externalId", "id", "nickName",
    "value", "type", "primary", f"{ENTERPRISE}:manager",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not", "EQ", "Or",
    "true", "false", "null", "True", '"work"', '"a@x"', '"\\u00e9"', '"\\ud800"',
    '"2024-01-01T00:00:00Z"',
    '"', "\\", "(", ")", "[", "]", ".value", "1", "-2.5e3", "1e999", " ", "  ", "\t", "$ref", ":",
]  # fmt: skip

filter_like = st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join)

USER_TERMS = st.sampled_from([
    'userName eq "jane@example.com"', 'USERNAME co "@"', "active eq false", 'active ne "True"',
    'emails[type eq "work"].value eq "a@x"', 'emails[type eq "work" and value sw "a"]',
    "name.givenName pr", 'meta.lastModified gt "2024-01-01T00:00:00Z"', 'externalId eq "0a5b"',
    'urn:ietf:params:scim:schemas:core:2.0:User:displayName ew "Doe"', "emails pr",
])  # fmt: skip
valid_filters = st.recursive(
    USER_TERMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or ", " AND ", " Or "]), inner).map("".join),
        inner.map(lambda f: f"not ({f})"),
        inner.map(lambda f: f"({f})"),
    ),
    max_leaves=8,
)


@FAST
@given(st.one_of(st.text(max_size=200), filter_like), st.sampled_from(["User", "Group"]))
def test_parse_filter_raises_only_invalid_filter(text: str, resource: str) -> None:
    try:
        parse_filter(text, resource)
    except ScimError as error:
        assert (error.status, error.scim_type) == (400, "invalidFilter")


@FAST
@given(valid_filters)
def test_well_formed_filters_parse(text: str) -> None:
    assert parse_filter(text, "User") is not None


@FAST
@given(st.one_of(st.text(max_size=200), filter_like))
def test_parse_path_raises_only_invalid_path(text: str) -> None:
    try:
        parse_path(text)
    except ScimError as error:
        assert (error.status, error.scim_type) == (400, "invalidPath")


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from(["True", "False", "false", "u-1", "work", ""]),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS[:20]), st.text(max_size=8)), inner,
                        max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip

PATHS = [
    None, "", "active", "nickName", "name", "name.givenName", "emails", "emails.value",
    'emails[type eq "work"]', 'emails[type eq "work"].value', 'emails[primary eq true]',
    'emails[type eq "work" or value co "@"].primary', "phoneNumbers", "addresses",
    f"{ENTERPRISE}:employeeNumber", f"{ENTERPRISE}:manager", f"{ENTERPRISE}:manager.value",
    ENTERPRISE, "urn:ietf:params:scim:schemas:core:2.0:User", "userName", "id", "meta",
    "groups", "password", "members", 'members[value eq "u-1"]', "displayName", "externalId",
    "urn:example:custom:badge", "x509Certificates", "roles",
]  # fmt: skip

element_values = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"value": st.sampled_from(["a@x", "B@corp", "u-1", "", "True"])},
        optional={"type": st.sampled_from(["work", "home", "WORK"]),
                  "primary": st.sampled_from([True, False, "True", "false", None])},
    ),
)  # fmt: skip
likely_values = st.one_of(element_values, st.lists(element_values, max_size=3))
operations = st.one_of(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "Add", "Replace"]),
         "path": st.sampled_from(PATHS), "value": likely_values},
    ),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["remove", "Remove"]), "path": st.sampled_from(PATHS[1:])},
        optional={"value": likely_values},
    ),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["replace", "add"]),
         "value": st.dictionaries(st.sampled_from([p for p in PATHS if p] + ["schemas"]),
                                  likely_values, max_size=4)},
    ),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "remove", "move"])},
        optional={"path": st.one_of(st.sampled_from(PATHS), st.text(max_size=30)),
                  "value": json_values},
    ),
)  # fmt: skip
patch_bodies = st.fixed_dictionaries(
    {"Operations": st.lists(operations, min_size=1, max_size=5)},
    optional={"schemas": st.just(["urn:ietf:params:scim:api:messages:2.0:PatchOp"])},
)
START = user_to_scim(user_record(ENTRA_CREATE), BASE)


@FAST
@given(patch_bodies)
def test_user_patch_raises_only_scim_errors_and_never_mutates(body: dict[str, Any]) -> None:
    start = copy.deepcopy(START)
    sent = copy.deepcopy(body)
    try:
        result = apply_user_patch(start, parse_patch_request(body, 10))
        user_input_from_scim(result, mode="patch")
    except ScimError as error:
        assert 400 <= error.status < 500
    assert start == START
    assert body == sent


@FAST
@given(patch_bodies)
def test_group_plan_raises_only_scim_errors(body: dict[str, Any]) -> None:
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g-1",
             "displayName": "Eng"}  # fmt: skip
    sent = copy.deepcopy(body)
    try:
        changes = plan_group_patch(group, parse_patch_request(body, 10))
    except ScimError as error:
        assert 400 <= error.status < 500
    else:
        for change in changes:
            assert all(isinstance(i, str) and i.strip() for i in change.member_ids)
    assert body == sent


@FAST
@given(st.dictionaries(st.sampled_from(WORDS[:20] + ["schemas"]), json_values, max_size=6))
def test_user_mapping_raises_only_scim_errors(extra: dict[str, Any]) -> None:
    body = {**copy.deepcopy(OKTA_CREATE), **extra}
    for candidate in (body, extra):
        try:
            user_input_from_scim(candidate)
        except ScimError as error:
            assert error.scim_type in ("invalidSyntax", "invalidValue")


@FAST
@given(json_values)
def test_group_and_search_bodies_raise_only_scim_errors(body: Any) -> None:
    for parse in (group_input_from_scim, search_request_from_body):
        try:
            parse(body)
        except ScimError as error:
            assert error.scim_type in ("invalidSyntax", "invalidValue")


@FAST
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=15)), max_size=5),
       st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=15)), max_size=5))  # fmt: skip
def test_projection_never_fails_and_keeps_id(attributes: list[str], excluded: list[str]) -> None:
    record = user_record(ENTRA_CREATE)
    for chosen in ((attributes, None), (None, excluded), (attributes, excluded)):
        resource = user_to_scim(record, BASE, *chosen)
        assert resource["id"] == "u-1"
        assert resource["schemas"]
