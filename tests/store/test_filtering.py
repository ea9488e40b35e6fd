"""The filter compiler against real SQLite and PostgreSQL: every operator on every attribute
agrees with a plain-Python reference, and hostile values are inert and match literally."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.criteria import (
    And,
    Compare,
    Criteria,
    FilterError,
    Not,
    Or,
    Present,
    Sort,
    ValuePath,
    check,
)
from store.domain.limits import FILTER_COMPARISONS
from store.domain.names import fold
from store.queries.filtering import USERS, compile_filter
from store.queries.groups import list_groups
from store.queries.users import list_users
from store.records import EmailInput
from store.services.groups import create_group
from store.services.users import create_user, delete_user, replace_user
from tests.store.test_users_helpers import ACTOR, group_input, user_input
from tests.support import FakeClock

PWNED = "/tmp/pwned"
PAYLOADS = [
    "'; DROP TABLE scim_user; --",
    "'; DROP TABLE scim_group; --",
    "$(open('/tmp/pwned','w'))",
    "$(__import__('os').system('touch /tmp/pwned'))",
    "%",
    "_",
    "\\",
    "' OR '1'='1",
    '") OR 1=1 --',
    "$p0",
    "$$",
    "*",
    "?",
    "[a-z]",
]
OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")

PEOPLE: list[dict[str, Any]] = [
    {
        "userName": "Alice.Smith@Example.com",
        "externalId": "Ext-A1",
        "displayName": "Alice Smith",
        "name.givenName": "Alice",
        "name.familyName": "Smith",
        "emails": [("alice@example.com", "work", True), ("Alice@Home.Example", "home", False)],
        "active": True,
    },
    {
        "userName": "bob@example.com",
        "externalId": "ext-b2",
        "displayName": "Bob Jones",
        "name.givenName": "Bob",
        "name.familyName": "Jones",
        "emails": [("bob@corp", "Work", False)],
        "active": False,
    },
    {
        "userName": "straße@example.com",
        "externalId": None,
        "displayName": None,
        "name.givenName": None,
        "name.familyName": None,
        "emails": [],
        "active": True,
    },
    {
        "userName": "100%_off\\deal@example.com",
        "externalId": "$(open('/tmp/pwned','w'))",
        "displayName": "'; DROP TABLE scim_user; --",
        "name.givenName": "_",
        "name.familyName": "%",
        "emails": [("under_score%@x.example", "WORK", True)],
        "active": True,
    },
]


@pytest.fixture
def people(store: Store, clock: FakeClock) -> list[dict[str, Any]]:
    """The four people above (plus a deleted one that must never match), one hour apart."""
    made = []
    for person in PEOPLE:
        emails = tuple(EmailInput(v, t, p) for v, t, p in person["emails"])
        data = user_input(
            person["userName"],
            external_id=person["externalId"],
            display_name=person["displayName"],
            given_name=person["name.givenName"],
            family_name=person["name.familyName"],
            emails=emails,
        )
        record = create_user(store, data, ACTOR)
        if not person["active"]:
            replace_user(
                store, record.id, data.__class__(**{**data.__dict__, "active": False}), ACTOR
            )
        made.append(dict(person, id=record.id, created=clock.now))
        clock.advance(3600)
    gone = create_user(store, user_input("ALICE.smith@example.org", external_id="Ext-A1x"), ACTOR)
    delete_user(store, gone.id, ACTOR)
    return made


# ---- a plain-Python reference of the SCIM comparison rules --------------------------------


def _values(person: dict[str, Any], attribute: str) -> list[Any]:
    if attribute == "emails.value":
        return [v for v, _t, _p in person["emails"]]
    if attribute == "emails.type":
        return [t for _v, t, _p in person["emails"]]
    return [person[attribute]]


def _one(value: str | None, op: str, operand: str, case_exact: bool) -> bool:
    if value is None:
        return op == "ne"
    if not case_exact:
        value, operand = fold(value), fold(operand)
    return {
        "eq": value == operand,
        "ne": value != operand,
        "co": operand in value,
        "sw": value.startswith(operand),
        "ew": value.endswith(operand),
        "gt": value > operand,
        "ge": value >= operand,
        "lt": value < operand,
        "le": value <= operand,
    }[op]


def expected(people: list[dict[str, Any]], attribute: str, op: str, operand: str) -> set[str]:
    exact = attribute in ("id", "externalId")
    return {
        p["id"] for p in people if any(_one(v, op, operand, exact) for v in _values(p, attribute))
    }


def found(store: Store, criteria: Criteria) -> set[str]:
    """The users a hand-built tree matches, once the catalogue's rules have put it in the
    canonical form the parser gives (names, operators, typed values)."""
    page = list_users(store, check(criteria, "User"), 1, 100)
    assert page.total == len(page.items)
    return {u.id for u in page.items}


STRING_ATTRIBUTES = [
    "id",
    "userName",
    "externalId",
    "displayName",
    "name.givenName",
    "name.familyName",
    "emails.value",
    "emails.type",
]


def _operands(people: list[dict[str, Any]], attribute: str) -> list[str]:
    operands = ["", "a", "Z", "ss", "SS", "example", "EXAMPLE.COM", "ext", "Ext", "work"]
    for person in people:
        for value in _values(person, attribute):
            if value:
                operands += [value, value.upper(), value[:3], value[-3:], value[1:-1]]
    return operands + PAYLOADS


@pytest.mark.parametrize("attribute", STRING_ATTRIBUTES)
def test_every_operator_agrees_with_the_reference(
    store: Store, people: list[dict[str, Any]], attribute: str
) -> None:
    for operand in dict.fromkeys(_operands(people, attribute)):
        for op in OPERATORS:
            want = expected(people, attribute, op, operand)
            got = found(store, Compare(attribute, op, operand))
            assert got == want, (attribute, op, operand)
        present = {p["id"] for p in people if any(_values(p, attribute)) and attribute}
        assert found(store, Present(attribute)) == present, attribute
    assert not os.path.exists(PWNED)


def test_hostile_values_are_inert_and_match_literally(
    store: Store, people: list[dict[str, Any]]
) -> None:
    deal = people[3]["id"]
    assert found(store, Compare("userName", "co", "%")) == {deal}
    assert found(store, Compare("userName", "co", "%_off\\")) == {deal}
    assert found(store, Compare("name.givenName", "eq", "_")) == {deal}
    assert found(store, Compare("externalId", "eq", "$(open('/tmp/pwned','w'))")) == {deal}
    assert found(store, Compare("displayName", "eq", "'; drop TABLE scim_user; --")) == {deal}
    assert found(store, Compare("emails.value", "sw", "under_")) == {deal}
    assert found(store, Compare("emails.value", "sw", "under%")) == set()
    for payload in PAYLOADS:
        for attribute in ("meta.created", "active", "emails.primary"):
            with pytest.raises(FilterError):
                found(store, Compare(attribute, "eq", payload))
    groups = list_groups(store, Compare("displayName", "eq", PAYLOADS[1]), 1, 10)
    assert groups.total == 0
    with db_session:
        assert store.db.User.select().count() == 5  # the tables are all still there
        assert store.db.Group.select().count() == 0
    assert not os.path.exists(PWNED)


def test_the_sql_text_never_carries_a_value() -> None:
    """The text depends only on the filter's shape; every value travels as a parameter."""

    def shape(value: str) -> Criteria:
        return Or(
            Compare("userName", "co", value), ValuePath("emails", Compare("value", "eq", value))
        )

    for provider in ("sqlite", "postgres"):
        benign = compile_filter(shape("x"), USERS, provider).sql
        for payload in PAYLOADS:
            fragment = compile_filter(shape(payload), USERS, provider)
            assert fragment.sql == benign
            assert fragment.params["p1"] == fold(payload)


def test_booleans_dates_and_ids(
    store: Store, people: list[dict[str, Any]], clock: FakeClock
) -> None:
    alice, bob, strasse, deal = (p["id"] for p in people)
    assert found(store, Compare("active", "eq", False)) == {bob}
    assert found(store, Compare("active", "eq", "True")) == {alice, strasse, deal}
    assert found(store, Compare("active", "ne", True)) == {bob}
    assert found(store, Present("active")) == {alice, bob, strasse, deal}
    assert found(store, Compare("emails.primary", "eq", True)) == {alice, deal}
    assert found(store, Compare("emails.primary", "ne", True)) == {alice, bob}

    t0 = people[0]["created"]
    in_paris = (t0 + timedelta(hours=1)).replace(tzinfo=UTC).astimezone().isoformat()
    assert found(store, Compare("meta.created", "eq", t0.replace(tzinfo=UTC))) == {alice}
    assert found(store, Compare("meta.created", "eq", in_paris)) == {bob}
    assert found(store, Compare("meta.created", "gt", t0)) == {bob, strasse, deal}
    assert found(store, Compare("meta.created", "ge", "2026-01-05T10:00:00Z")) == {
        bob,
        strasse,
        deal,
    }
    assert found(store, Compare("meta.created", "lt", t0 + timedelta(microseconds=1))) == {alice}
    assert found(store, Compare("meta.created", "le", t0 + timedelta(hours=1))) == {alice, bob}
    assert found(store, Compare("meta.created", "ne", t0)) == {bob, strasse, deal}
    # bob was deactivated right after being created, so lastModified equals created
    assert found(store, Compare("meta.lastModified", "eq", people[1]["created"])) == {bob}
    assert found(store, Compare("meta.lastModified", "gt", clock.now)) == set()
    assert found(store, Present("meta.lastModified")) == {alice, bob, strasse, deal}
    assert found(store, Compare("id", "eq", alice)) == {alice}
    assert found(store, Compare("id", "eq", alice.upper())) == set()


def test_logic_value_paths_and_null(store: Store, people: list[dict[str, Any]]) -> None:
    alice, bob, strasse, deal = (p["id"] for p in people)
    work_corp = ValuePath(
        "emails", And(Compare("type", "eq", "work"), Compare("value", "co", "corp"))
    )
    assert found(store, work_corp) == {bob}
    home_corp = ValuePath(
        "emails", And(Compare("type", "eq", "home"), Compare("value", "co", "corp"))
    )
    assert found(store, home_corp) == set()
    # Outside brackets the two conditions may hold for different emails (RFC 7644 §3.4.2.2).
    loose = And(Compare("emails.type", "eq", "home"), Compare("emails.value", "co", "@EXAMPLE.COM"))
    assert found(store, loose) == {alice}
    assert found(store, Compare("emails", "eq", "BOB@corp")) == {bob}
    assert found(store, Present("emails")) == {alice, bob, deal}
    entra = ValuePath("emails", Compare("type", "eq", "work"))
    assert found(store, And(entra, Compare("emails.value", "eq", "alice@example.com"))) == {alice}

    assert found(store, Not(Compare("externalId", "eq", "Ext-A1"))) == {bob, strasse, deal}
    assert found(store, Not(Present("displayName"))) == {strasse}
    assert found(store, Present("displayName")) == {alice, bob, deal}
    either = Or(Compare("userName", "sw", "bob"), Compare("name.familyName", "eq", "smith"))
    assert found(store, either) == {alice, bob}
    assert found(store, And(either, Compare("active", "eq", True))) == {alice}
    assert found(store, Not(Not(either))) == {alice, bob}
    assert found(store, Compare("USERNAME", "EQ", "bob@example.com")) == {bob}
    urn = "urn:ietf:params:scim:schemas:core:2.0:User:userName"
    assert found(store, Compare(urn, "eq", "bob@example.com")) == {bob}


def test_long_chains_are_flat_and_limits_are_clear_errors(
    store: Store, people: list[dict[str, Any]]
) -> None:
    alice = people[0]["id"]
    chain: Criteria = Compare("userName", "eq", "alice.smith@example.com")
    for i in range(FILTER_COMPARISONS - 1):
        chain = Or(chain, Compare("userName", "eq", f"nobody{i}@example.com"))
    assert found(store, chain) == {alice}
    with pytest.raises(FilterError) as caught:
        found(store, Or(chain, Compare("userName", "eq", "one-too-many")))
    assert "comparisons" in str(caught.value)
    huge: Criteria = Compare("userName", "eq", "x")
    for _ in range(20_000):  # far past Python's recursion limit
        huge = And(Compare("active", "eq", True), huge)
    with pytest.raises(FilterError):
        found(store, huge)
    deep: Criteria = Compare("userName", "eq", "alice.smith@example.com")
    for _ in range(20_000):
        deep = Not(deep)
    with pytest.raises(FilterError):
        found(store, deep)


@pytest.mark.parametrize(
    "criteria",
    [
        Compare("nickName", "eq", "Babs"),
        Compare("emails.display", "eq", "x"),
        Compare("groups.value", "eq", "x"),
        Compare("members.value", "eq", "x"),
        Compare("userName", "xx", "x"),
        Compare("userName", "eq", True),
        Compare("userName", "eq", "nul\x00byte"),
        Compare("userName", "eq", "lone\ud800surrogate"),
        Compare("active", "gt", True),
        Compare("active", "eq", "yes"),
        Compare("meta.created", "co", "2026"),
        Compare("meta.created", "gt", "yesterday"),
        Compare("meta.created", "gt", 5),
        Compare("meta.created", "gt", "0001-01-01T00:00:00+01:00"),
        Compare("userName", "eq", 10**5000),
        Compare("displayName", "gt", None),
        ValuePath("userName", Compare("value", "eq", "x")),
        ValuePath("emails", ValuePath("emails", Compare("value", "eq", "x"))),
        ValuePath("emails", Compare("nope", "eq", "x")),
    ],
)
def test_unsupported_filters_break_the_catalogue_rules(criteria: Criteria) -> None:
    """Refused before any SQL is built: the compiler only compiles trees that pass ``check``
    (tests/api/test_invalid_filters.py sends each as a filter: 400 invalidFilter)."""
    with pytest.raises(FilterError):
        check(criteria, "User")


def test_filtered_listing_pages_and_sorts(store: Store, people: list[dict[str, Any]]) -> None:
    criteria = Compare("userName", "ew", "@example.com")
    page = list_users(store, criteria, 2, 2, Sort("userName", descending=True))
    assert page.total == 4
    assert [u.user_name for u in page.items] == ["bob@example.com", "Alice.Smith@Example.com"]


# ---- groups -------------------------------------------------------------------------------


def test_group_filters(store: Store, people: list[dict[str, Any]]) -> None:
    alice, bob, strasse, _deal = (p["id"] for p in people)
    eng = create_group(
        store, group_input("Engineering", external_id="okta-g1"), (alice, bob), ACTOR
    )
    team = create_group(store, group_input("Straße Team"), (strasse,), ACTOR)
    odd = create_group(store, group_input("50%_off\\", external_id=PAYLOADS[1]), (), ACTOR)

    def groups(criteria: Criteria) -> set[str]:
        checked = check(criteria, "Group")
        return {g.id for g in list_groups(store, checked, 1, 100, include_members=False).items}

    assert groups(Compare("displayName", "eq", "ENGINEERING")) == {eng.id}
    assert groups(Compare("displayName", "co", "STRAẞE")) == {team.id}
    assert groups(Compare("displayName", "co", "STRASSE")) == set()  # group names keep ß
    assert groups(Compare("displayName", "sw", "50%")) == {odd.id}
    assert groups(Compare("displayName", "ew", "_off\\")) == {odd.id}
    assert groups(Compare("displayName", "co", "%")) == {odd.id}
    assert groups(Compare("displayName", "gt", "f")) == {team.id}
    assert groups(Compare("displayName", "ne", "engineering")) == {team.id, odd.id}
    assert groups(Compare("externalId", "eq", PAYLOADS[1])) == {odd.id}
    assert groups(Compare("externalId", "eq", "OKTA-G1")) == set()
    assert groups(Compare("externalId", "sw", "okta")) == {eng.id}
    assert groups(Present("externalId")) == {eng.id, odd.id}
    assert groups(Compare("members.value", "eq", bob)) == {eng.id}
    assert groups(Compare("members", "eq", strasse)) == {team.id}
    assert groups(ValuePath("members", Compare("value", "eq", alice))) == {eng.id}
    assert groups(Compare("members.value", "co", alice[2:10])) == {eng.id}
    assert groups(Compare("members.value", "eq", alice.upper())) == set()
    assert groups(Present("members")) == {eng.id, team.id}
    assert groups(Not(Present("members"))) == {odd.id}
    assert groups(Compare("members.value", "ne", alice)) == {eng.id, team.id}
    assert groups(Compare("id", "eq", team.id)) == {team.id}
    assert groups(Compare("meta.created", "ge", eng.created)) == {eng.id, team.id, odd.id}
    assert groups(Compare("meta.lastModified", "gt", datetime(2100, 1, 1))) == set()
    for payload in PAYLOADS:
        for attribute in ("displayName", "externalId", "members.value", "id"):
            for op in OPERATORS:
                groups(Compare(attribute, op, payload))  # runs, raises nothing
    with pytest.raises(FilterError):
        groups(Compare("emails.value", "eq", "x"))
    assert not os.path.exists(PWNED)


def test_filter_shapes_do_not_pile_up_in_ponys_caches(
    store: Store, people: list[dict[str, Any]]
) -> None:
    """Each distinct filter shape is a distinct SQL text; Pony would keep every one forever.
    The most recent ``MAX_CACHED_TEXTS`` stay parsed; older ones are evicted."""
    from store.sql import MAX_CACHED_TEXTS, parsed_texts, statement_counts

    def sizes() -> tuple[int, int]:
        return parsed_texts(), len(statement_counts(store.db))

    found(store, Present("userName"))  # warm the fixed-shape statements
    before = sizes()
    criteria: Criteria = Compare("userName", "eq", "x")
    for i in range(2 * MAX_CACHED_TEXTS):
        criteria = Or(criteria, Compare("displayName", "co", str(i)))
        found(store, criteria)
    after = sizes()
    assert after[0] - before[0] <= MAX_CACHED_TEXTS + 10, (before, after)
    assert after[1] - before[1] < 10, (before, after)
