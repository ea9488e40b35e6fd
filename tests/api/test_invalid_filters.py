"""Filters the catalogue's rules refuse are 400 invalidFilter on every listing and search, on
both backends. The store's SQL compiler no longer checks filters itself (it compiles what the
parser, by ``store.domain.criteria.FilterRules``, let through), so this is the whole guard:
each case below was once also caught inside the compiler."""

from __future__ import annotations

import pytest

from store.domain import limits
from tests.api.conftest import Scim, assert_scim_error

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
TOO_MANY = " or ".join(f'id eq "{i}"' for i in range(limits.FILTER_COMPARISONS + 1))
TOO_DEEP = "(" * (limits.FILTER_DEPTH + 1) + 'userName eq "x"' + ")" * (limits.FILTER_DEPTH + 1)
USER_FILTERS = [
    'nickName eq "Babs"',
    'emails.display eq "x"',
    'groups.value eq "x"',
    'members.value eq "x"',
    'userName xx "x"',
    "userName eq true",
    "userName eq 42",
    'userName eq "nul\\u0000byte"',
    'userName eq "lone\\ud800surrogate"',
    "active gt true",
    'active eq "yes"',
    'meta.created co "2026"',
    'meta.created gt "yesterday"',
    "meta.created gt 5",
    'meta.created gt "0001-01-01T00:00:00+01:00"',
    "userName eq " + "9" * 5000,
    "displayName gt null",
    "displayName eq null",
    'userName[value eq "x"]',
    'emails[value eq "x" and emails[value eq "y"]]',
    'emails[nope eq "x"]',
    TOO_MANY,
    TOO_DEEP,
]
GROUP_FILTERS = ['userName eq "x"', 'emails.value eq "x"', 'members.value gt true',
                 'displayName eq true', 'members[display eq "x"]']  # fmt: skip


@pytest.mark.parametrize("text", USER_FILTERS)
def test_a_user_filter_breaking_the_rules_is_invalid_filter(scim: Scim, text: str) -> None:
    assert_scim_error(scim.get("/Users", params={"filter": text}), 400, "invalidFilter")
    search = {"schemas": [SEARCH], "filter": text}
    assert_scim_error(scim.post("/Users/.search", search), 400, "invalidFilter")


@pytest.mark.parametrize("text", GROUP_FILTERS)
def test_a_group_filter_breaking_the_rules_is_invalid_filter(scim: Scim, text: str) -> None:
    assert_scim_error(scim.get("/Groups", params={"filter": text}), 400, "invalidFilter")


def test_the_largest_filter_within_the_limits_is_answered(scim: Scim) -> None:
    most = " or ".join(f'id eq "{i}"' for i in range(limits.FILTER_COMPARISONS))
    deepest = "(" * limits.FILTER_DEPTH + 'userName eq "x"' + ")" * limits.FILTER_DEPTH
    for text in (most, deepest, 'emails[type eq "work" and value co "@"] or not (active eq true)'):
        answer = scim.get("/Users", params={"filter": text})
        assert answer.status_code == 200, answer.text
