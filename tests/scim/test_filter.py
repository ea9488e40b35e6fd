"""Query filters: RFC 7644 §3.4.2.2 grammar, IdP filter shapes, and every refusal."""

from __future__ import annotations

from datetime import datetime

import pytest

from api.scim.errors import ScimError
from api.scim.filter import matches, parse_filter
from store.domain.criteria import And, Compare, Not, Or, Present, ValuePath

C = Compare
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

USER_CASES = [
    # Okta lookups, its spec test's upper-cased userName, and Entra's matching attributes
    ('userName eq "jane@example.com"', C("userName", "eq", "jane@example.com")),
    ('userName eq "JANE@EXAMPLE.COM"', C("userName", "eq", "JANE@EXAMPLE.COM")),
    ('externalId eq "00ujl29u0le5T6Aj10h7"', C("externalId", "eq", "00ujl29u0le5T6Aj10h7")),
    (
        'userName eq "x" and externalId eq "3b1c"',
        And(C("userName", "eq", "x"), C("externalId", "eq", "3b1c")),
    ),
    (
        'externalId eq "8e2f5b0c-2f3a-4a8a-9a44-2c5f0e7b9a11"',
        C("externalId", "eq", "8e2f5b0c-2f3a-4a8a-9a44-2c5f0e7b9a11"),
    ),
    (
        'emails[type eq "work"].value eq "b@example.com"',
        ValuePath("emails", And(C("type", "eq", "work"), C("value", "eq", "b@example.com"))),
    ),
    # case-insensitive names and operators, URN-qualified names
    ('USERNAME EQ "a"', C("userName", "eq", "a")),
    ('UserName Sw "J"', C("userName", "sw", "J")),
    (f'{CORE}:userName eq "a"', C("userName", "eq", "a")),
    (f'{CORE}:name.givenName co "an"', C("name.givenName", "co", "an")),
    ('name.familyname ew "oe"', C("name.familyName", "ew", "oe")),
    # bare multi-valued names mean their value
    ('emails co "@example.com"', C("emails.value", "co", "@example.com")),
    ('emails.type eq "work"', C("emails.type", "eq", "work")),
    ("emails pr", Present("emails.value")),
    ("displayName pr", Present("displayName")),
    # every operator
    *[
        (f'displayName {op} "m"', C("displayName", op, "m"))
        for op in ("ne", "gt", "ge", "lt", "le")
    ],
    # booleans, including Entra-style strings
    ("active eq true", C("active", "eq", True)),
    ("active ne FALSE", C("active", "ne", False)),
    ('active eq "True"', C("active", "eq", True)),
    ('active eq "false"', C("active", "eq", False)),
    ("emails.primary eq true", C("emails.primary", "eq", True)),
    # dateTime becomes naive UTC
    (
        'meta.lastModified gt "2024-05-01T12:00:00Z"',
        C("meta.lastModified", "gt", datetime(2024, 5, 1, 12)),
    ),
    (
        'meta.created le "2024-05-01T14:30:00+02:00"',
        C("meta.created", "le", datetime(2024, 5, 1, 12, 30)),
    ),
    ('meta.created ge "2024-05-01"', C("meta.created", "ge", datetime(2024, 5, 1))),
    # precedence: not > and > or
    (
        'userName eq "a" or userName eq "b" and active eq true',
        Or(C("userName", "eq", "a"), And(C("userName", "eq", "b"), C("active", "eq", True))),
    ),
    (
        '(userName eq "a" or userName eq "b") and active eq true',
        And(Or(C("userName", "eq", "a"), C("userName", "eq", "b")), C("active", "eq", True)),
    ),
    (
        'not (userName eq "a") and active eq false',
        And(Not(C("userName", "eq", "a")), C("active", "eq", False)),
    ),
    ('not(userName eq "a")', Not(C("userName", "eq", "a"))),
    # value paths with logic inside
    (
        'emails[type eq "work" and value co "@x"]',
        ValuePath("emails", And(C("type", "eq", "work"), C("value", "co", "@x"))),
    ),
    (
        'emails[not (type eq "home") or primary eq true]',
        ValuePath("emails", Or(Not(C("type", "eq", "home")), C("primary", "eq", True))),
    ),
    # JSON string escapes
    (r'displayName eq "say \"hi\" \\ \u00e9"', C("displayName", "eq", 'say "hi" \\ é')),
    (
        'displayName eq "O\'Brien; DROP TABLE users; --"',
        C("displayName", "eq", "O'Brien; DROP TABLE users; --"),
    ),
    ('displayName eq "$(touch /tmp/x)"', C("displayName", "eq", "$(touch /tmp/x)")),
    # whitespace is flexible
    ('  userName   eq\t"a"  ', C("userName", "eq", "a")),
    (
        'id eq "2819c223-7f76-453a-919d-413861904646"',
        C("id", "eq", "2819c223-7f76-453a-919d-413861904646"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), USER_CASES)
def test_user_filters(text: str, expected: object) -> None:
    assert parse_filter(text, "User") == expected


GROUP_CASES = [
    ('displayName eq "Engineering"', C("displayName", "eq", "Engineering")),
    ('members[value eq "u1"]', ValuePath("members", C("value", "eq", "u1"))),
    ('members eq "u1"', C("members.value", "eq", "u1")),
    ('members.value eq "u1"', C("members.value", "eq", "u1")),
    ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"', C("displayName", "eq", "x")),
    ('externalId eq "abc" or id eq "def"', Or(C("externalId", "eq", "abc"), C("id", "eq", "def"))),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_CASES)
def test_group_filters(text: str, expected: object) -> None:
    assert parse_filter(text, "Group") == expected


def test_long_chains_become_balanced_trees() -> None:
    text = " or ".join(f'id eq "{i}"' for i in range(64))
    tree = parse_filter(text, "User")

    def depth(node: object) -> int:
        if isinstance(node, And | Or):
            return 1 + max(depth(node.left), depth(node.right))
        return 1

    def leaves(node: object) -> list[str]:
        if isinstance(node, Or):
            return leaves(node.left) + leaves(node.right)
        assert isinstance(node, Compare)
        return [str(node.value)]

    assert depth(tree) == 7
    assert leaves(tree) == [str(i) for i in range(64)]


ERRORS = [
    # unknown attributes are named in the detail
    ('nickName eq "Babs"', 'unsupported filter attribute "nickName"'),
    (
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"',
        "employeeNumber",
    ),
    ('name eq "x"', 'unsupported filter attribute "name"'),
    ('emails.display eq "x"', "emails.display"),
    ('emails[display eq "x"]', 'unsupported filter attribute "emails.display"'),
    ('userName[value eq "x"]', "not multi-valued"),
    ('members eq "x"', 'unsupported filter attribute "members"'),
    # syntax, with the position
    ("userName eq", "expected a value"),
    ('userName "a"', "expected an operator"),
    ('userName like "a"', "unknown operator 'like'"),
    ('userName eq "a', "unterminated string starting at character 13"),
    ('(userName eq "a"', "expected ')'"),
    ('userName eq "a")', "at character 16"),
    ('userName eq "a" and', "expected an attribute name"),
    ('emails[type eq "work"', "expected ']'"),
    ('emails[emails[type eq "a"]]', "cannot be nested"),
    ('not userName eq "a"', "expected '(' after 'not'"),
    ('userName eq "\\x"', "invalid escape"),
    ('userName eq "a\\u0000b"', "NUL"),
    ('userName eq "\\ud800"', "surrogate"),
    ("userName eq 12abc", "invalid number"),
    ("userName eq #", "unexpected character '#'"),
    ("", "empty"),
    ("   ", "empty"),
    # values of the wrong type
    ("userName eq null", "use 'pr'"),
    ("userName eq 42", "expected a string"),
    ("userName eq true", "expected a string"),
    ("active gt true", "cannot compare booleans"),
    ("active co true", "cannot compare booleans"),
    ('active eq "yes"', "expected true or false"),
    ("active eq 1", "expected true or false"),
    ('meta.created eq "yesterday"', 'invalid dateTime "yesterday"'),
    ('meta.created co "2024"', "cannot compare dateTime"),
    ("meta.created gt 2024", "expected an ISO 8601"),
]


@pytest.mark.parametrize(("text", "fragment"), ERRORS)
def test_refused_filters_are_invalid_filter(text: str, fragment: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_filter(text, "User")
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"
    assert fragment in caught.value.detail


def test_group_filters_refuse_user_attributes() -> None:
    with pytest.raises(ScimError, match='unsupported filter attribute "userName"'):
        parse_filter('userName eq "x"', "Group")
    with pytest.raises(ScimError, match="emails"):
        parse_filter('emails[type eq "work"]', "Group")


def test_length_and_depth_limits() -> None:
    text = 'userName eq "' + "a" * 100 + '"'
    assert parse_filter(text, "User", max_length=len(text))
    with pytest.raises(ScimError, match="longer than"):
        parse_filter(text, "User", max_length=len(text) - 1)
    nested = "(" * 5 + 'userName eq "a"' + ")" * 5
    assert parse_filter(nested, "User", max_depth=5) == C("userName", "eq", "a")
    with pytest.raises(ScimError, match="deeper than 4"):
        parse_filter(nested, "User", max_depth=4)
    deep_not = "not (" * 30 + 'userName eq "a"' + ")" * 30
    with pytest.raises(ScimError) as caught:
        parse_filter(deep_not, "User")
    assert caught.value.scim_type == "invalidFilter"


def test_huge_numbers_are_refused_cleanly() -> None:
    with pytest.raises(ScimError) as caught:
        parse_filter("userName eq " + "9" * 5000, "User", max_length=10_000)
    assert caught.value.scim_type == "invalidFilter"


def test_error_body_shape() -> None:
    with pytest.raises(ScimError) as caught:
        parse_filter('nickName eq "x"', "User")
    assert caught.value.to_body() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidFilter",
        "detail": 'unsupported filter attribute "nickName"',
    }


WORK = {"type": "work", "value": "Jane@Example.com", "primary": True}
HOME = {"type": "home", "value": "jane@home.example"}
MATCHES = [
    (C("type", "eq", "WORK"), WORK, True),
    (C("type", "eq", "work"), HOME, False),
    (C("type", "ne", "work"), HOME, True),
    (C("value", "co", "example.COM"), WORK, True),
    (C("value", "sw", "jane@"), HOME, True),
    (C("value", "ew", ".example"), HOME, True),
    (C("primary", "eq", True), WORK, True),
    (C("primary", "eq", "True"), WORK, True),
    (C("primary", "eq", True), HOME, False),
    (C("primary", "ne", True), HOME, True),
    (Present("primary"), WORK, True),
    (Present("primary"), HOME, False),
    (And(C("type", "eq", "work"), C("value", "co", "@example")), WORK, True),
    (Or(C("type", "eq", "x"), C("type", "eq", "home")), HOME, True),
    (Not(C("type", "eq", "work")), HOME, True),
    (C("TYPE", "eq", "work"), WORK, True),
    (C("value", "gt", "a"), WORK, True),
    (C("value", "lt", "a"), WORK, False),
    (C("value", "eq", "u1"), {"value": "U1"}, True),
    (C("missing", "eq", "x"), WORK, False),
    (C("value", "eq", "x"), "not a dict", False),
]


@pytest.mark.parametrize(("criteria", "element", "expected"), MATCHES)
def test_matches(criteria: object, element: object, expected: bool) -> None:
    assert matches(criteria, element) is expected  # type: ignore[arg-type]


# RFC 7644 §3.4.2.2: "pr" is false for null, an empty string, an empty array and an empty
# complex value; false and 0 are values.
PRESENCE = [
    ({"display": "Jane"}, True),
    ({"display": False}, True),
    ({"display": 0}, True),
    ({"display": ["x"]}, True),
    ({"display": {"a": 1}}, True),
    ({"display": ""}, False),
    ({"display": " \u3000"}, False),  # blank: stored keys are trimmed, so SQL agrees
    ({"display": []}, False),
    ({"display": {}}, False),
    ({"display": None}, False),
    ({}, False),
]


@pytest.mark.parametrize(("element", "expected"), PRESENCE)
def test_in_memory_pr_treats_empty_values_as_absent(element: object, expected: bool) -> None:
    assert matches(Present("display"), element) is expected
    assert matches(Not(Present("display")), element) is not expected
