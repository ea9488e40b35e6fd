"""Paging, sorting, attribute lists and search bodies (RFC 7644 §3.4.2.4, §3.4.3)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.scim.errors import ScimError
from api.scim.paging import (
    SearchRequest,
    parse_attribute_list,
    parse_paging,
    parse_sort,
    search_request_from_body,
)
from store.domain.criteria import Sort

PAGING = [
    # Okta's import walk, and RFC corner cases
    ("1", "100", (1, 100)),
    ("101", "100", (101, 100)),
    (None, None, (1, 100)),
    ("0", "10", (1, 10)),
    ("-5", "10", (1, 10)),
    ("3", "0", (3, 0)),
    ("1", "-1", (1, 0)),
    ("1", "5000", (1, 1000)),
    (" 2 ", "+7", (2, 7)),
    ("0002", "010", (2, 10)),
    ("1", "9" * 40, (1, 1000)),
    ("9" * 40, "1", (2**53, 1)),
    (5, 20, (5, 20)),
    ("", " ", (1, 100)),
]


@pytest.mark.parametrize(("start", "count", "expected"), PAGING)
def test_paging(start: Any, count: Any, expected: tuple[int, int]) -> None:
    assert parse_paging(start, count, max_results=1000) == expected


def test_default_count_is_capped_too() -> None:
    assert parse_paging(None, None, max_results=50) == (1, 50)
    assert parse_paging(None, None, max_results=500, default_count=20) == (1, 20)


@pytest.mark.parametrize("bad", ["abc", "1.5", "1e3", "1_000", "0x10", "١٢", True])
def test_non_integers_are_invalid_value(bad: Any) -> None:
    with pytest.raises(ScimError) as caught:
        parse_paging(bad, None, 100)
    assert caught.value.scim_type == "invalidValue"
    with pytest.raises(ScimError):
        parse_paging(None, bad, 100)


@given(
    st.one_of(st.none(), st.integers(-(10**30), 10**30).map(str)),
    st.one_of(st.none(), st.integers(-(10**30), 10**30).map(str)),
    st.integers(0, 10_000),
)
def test_paging_properties(start: str | None, count: str | None, max_results: int) -> None:
    first, size = parse_paging(start, count, max_results)
    assert 1 <= first <= 2**53
    assert 0 <= size <= max_results
    if start is not None and 1 <= int(start) <= 2**53:
        assert first == int(start)
    if count is not None and 0 <= int(count) <= max_results:
        assert size == int(count)


@given(st.text(max_size=30), st.text(max_size=30))
def test_paging_raises_only_scim_errors(start: str, count: str) -> None:
    try:
        parse_paging(start, count, 100)
    except ScimError as error:
        assert error.scim_type == "invalidValue"


SORTS = [
    (None, None, "User", None),
    ("", "descending", "User", None),
    ("userName", None, "User", Sort("userName")),
    ("USERNAME", "Descending", "User", Sort("userName", descending=True)),
    ("meta.lastModified", "ascending", "User", Sort("meta.lastModified")),
    ("urn:ietf:params:scim:schemas:core:2.0:User:externalId", None, "User", Sort("externalId")),
    ("displayname", None, "Group", Sort("displayName")),
]


@pytest.mark.parametrize(("sort_by", "order", "resource", "expected"), SORTS)
def test_sort(sort_by: Any, order: Any, resource: str, expected: Any) -> None:
    assert parse_sort(sort_by, order, resource) == expected


@pytest.mark.parametrize(
    ("sort_by", "order", "resource", "fragment"),
    [
        ("nickName", None, "User", 'cannot sort by "nickName"'),
        ("userName", "down", "User", "sortOrder"),
        ("userName", None, "Group", "userName"),
    ],
)
def test_sort_refused(sort_by: str, order: Any, resource: str, fragment: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_sort(sort_by, order, resource)
    assert caught.value.scim_type == "invalidValue"
    assert fragment in caught.value.detail


def test_attribute_lists() -> None:
    assert parse_attribute_list(None) == []
    assert parse_attribute_list("") == []
    assert parse_attribute_list("userName, name.givenName,,") == ["userName", "name.givenName"]
    assert parse_attribute_list(["members"]) == ["members"]
    names = (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value,"
        "URN:ietf:params:scim:schemas:core:2.0:User:name.givenName, members.$ref,nick-Name_2"
    )
    assert len(parse_attribute_list(names)) == 4
    assert parse_attribute_list("unknownButWellFormed") == ["unknownButWellFormed"]


@pytest.mark.parametrize(
    "text",
    ['userName eq "jane@example.com"', "userName pr", 'emails[type eq "work"]', "name..given",
     "1userName", "a.b.c", "userName;drop", "urn:x", '"userName"', "name.", "*"],
)  # fmt: skip
def test_attribute_lists_refuse_what_is_not_an_attribute_name(text: str) -> None:
    for name in ("attributes", "excludedAttributes"):
        with pytest.raises(ScimError) as caught:
            parse_attribute_list(text, name)
        assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")
        assert caught.value.detail.startswith(f'"{name}" must list attribute names')


def test_search_request() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "excludedAttributes": "groups",
        "filter": 'userName eq "jane@example.com"',
        "startIndex": 1,
        "count": 10,
        "sortBy": "userName",
        "sortOrder": "descending",
    }
    assert search_request_from_body(body) == SearchRequest(
        filter='userName eq "jane@example.com"',
        start_index=1,
        count=10,
        sort_by="userName",
        sort_order="descending",
        attributes=["displayName", "userName"],
        excluded_attributes=["groups"],
    )
    assert search_request_from_body({}) == SearchRequest()


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ([], "invalidSyntax"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, "invalidSyntax"),
        ({"startIndex": "1"}, "invalidValue"),
        ({"count": 1.5}, "invalidValue"),
        ({"count": True}, "invalidValue"),
        ({"filter": 3}, "invalidValue"),
        ({"attributes": [1]}, "invalidValue"),
    ],
)
def test_search_request_refused(body: Any, scim_type: str) -> None:
    with pytest.raises(ScimError) as caught:
        search_request_from_body(body)
    assert caught.value.scim_type == scim_type
