"""Differential: the in-memory matcher (``api.scim.filter.matches``, which PATCH value filters
use) and the SQL compiler (``store.queries.filtering``) give the same answer for the same
criteria tree over the same users. On SQLite and PostgreSQL.

Hypothesis generates both the users (text from an alphabet of folding traps: ß/SS,
fullwidth letters, ligatures, dotted İ, combining marks, LIKE and GLOB wildcards, "") and
the filters (every comparison operator, ``pr``, and/or/not, ``emails[...]`` value paths).
The in-memory side reads each user's SCIM representation, exactly what a PATCH sees.

Left out on purpose, because the two are not meant to agree there: case-exact attributes
(``id``, ``externalId``: the in-memory matcher has no schema and compares every string
case-insensitively), dateTimes (not compared in memory), and multi-valued attributes outside
brackets (``emails.value eq x``: in memory only an element's own sub-attributes are read).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.scim.filter import matches
from api.scim.mapping import user_input_from_scim, user_to_scim
from store.context import Store
from store.domain.criteria import And, Compare, Criteria, Not, Or, Present, ValuePath, check
from store.queries.users import list_users
from store.services.users import create_user
from tests.support import wipe

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BASE = "https://control.example.com/scim/v2"
TRAPS = ["a", "A", "b", "ß", "SS", "ss", "Ａ", "ｂ", "ﬁ", "fi", "İ", "i", "Å", "å", "e\u0301",
         "é", "Ⅻ", "xii", "%", "_", "\\", "*", "?", "[", " ", "@"]  # fmt: skip
TEXT_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
SINGLE_TEXT = ["userName", "displayName", "name.givenName", "name.familyName"]

text = st.lists(st.sampled_from(TRAPS), max_size=4).map("".join)
optional_text = st.one_of(st.none(), st.just(""), text)


@st.composite
def user_bodies(draw: st.DrawFn, index: int) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [CORE], "userName": f"{draw(text)}#{index}"}
    name = {"givenName": draw(optional_text), "familyName": draw(optional_text)}
    body["name"] = {k: v for k, v in name.items() if v is not None}
    display = draw(optional_text)
    if display is not None:
        body["displayName"] = display
    flag = draw(st.sampled_from([True, False, None]))
    if flag is not None:
        body["active"] = flag
    emails = draw(st.lists(st.tuples(text, st.sampled_from(["work", "WORK", "home", "Ｗork"]),
                                     st.booleans()), max_size=2))  # fmt: skip
    body["emails"] = [
        {"value": f"{value}@{i}", "type": kind, "primary": primary and i == 0}
        for i, (value, kind, primary) in enumerate(emails)
    ]
    return body


people = st.integers(1, 4).flatmap(lambda n: st.tuples(*(user_bodies(i) for i in range(n))))


def _compare(attributes: list[str]) -> st.SearchStrategy[Criteria]:
    return st.builds(Compare, st.sampled_from(attributes), st.sampled_from(TEXT_OPS), text)


def _flag(attribute: str) -> st.SearchStrategy[Criteria]:
    return st.builds(Compare, st.just(attribute), st.sampled_from(["eq", "ne"]), st.booleans())


def _tree(leaf: st.SearchStrategy[Criteria]) -> st.SearchStrategy[Criteria]:
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
        ),
        max_leaves=4,
    )


email_filter = _tree(
    st.one_of(
        _compare(["value", "type"]),
        _flag("primary"),
        st.builds(Present, st.sampled_from(["value", "type", "primary"])),
    )
)
criteria_trees = _tree(
    st.one_of(
        _compare(SINGLE_TEXT),
        _compare(SINGLE_TEXT),
        _flag("active"),
        st.builds(Present, st.sampled_from([*SINGLE_TEXT, "emails"])),
        st.builds(ValuePath, st.just("emails"), email_filter),
    )
)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    phases=[Phase.generate],  # no shrinking: the assertion message shows the case
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def _same_answers(store: Store, data: st.DataObject) -> None:
    wipe(store)
    records = [
        create_user(store, user_input_from_scim(body), "token:test") for body in data.draw(people)
    ]
    resources = {r.id: user_to_scim(r, BASE) for r in records}
    for criteria in data.draw(st.lists(criteria_trees, min_size=1, max_size=8), "filters"):
        checked = check(criteria, "User")  # canonical, as the parser gives it to the store
        in_sql = {u.id for u in list_users(store, checked, 1, 100).items}
        in_memory = {uid for uid, r in resources.items() if matches(criteria, r)}
        assert in_sql == in_memory, _explain(criteria, resources, in_sql)


def _explain(criteria: Criteria, resources: dict[str, dict[str, Any]], in_sql: set[str]) -> str:
    """The case in one readable block (shrinking is off: a failure must explain itself)."""
    lines = [f"criteria: {criteria!r}"]
    for uid, resource in resources.items():
        shown = {k: v for k, v in resource.items() if k not in ("schemas", "meta", "id")}
        lines.append(f"{'SQL ' if uid in in_sql else '    '}{json.dumps(shown)}")
    return "\n".join(lines)


def test_the_sql_compiler_and_the_in_memory_matcher_agree(store: Store) -> None:
    _same_answers(store)
