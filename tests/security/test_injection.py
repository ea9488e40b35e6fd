"""No request value ever reaches SQL or Pony query text.

Classic SQL injection payloads and Pony's ``$(...)`` evaluation trick (Pony evaluates
``$(...)`` inside raw SQL text, even within quotes) are stored as attribute values and then
sent through every filterable attribute of Users and Groups, with several operators, and
through PATCH paths and values, ``sortBy``, ``attributes`` and search bodies. They must be
inert: no file appears, no table disappears, and every filter matches exactly the rows whose
values literally satisfy it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.names import fold
from tests.security.harness import (
    GROUP_URN,
    PATCH_URN,
    USER_URN,
    RunningApi,
    running_api,
)

MARK = uuid.uuid4().hex[:12]
PWNED = [Path(f"/tmp/pwned-{MARK}-{i}") for i in range(4)]
PAYLOADS = [
    "' OR '1'='1",
    "x' OR 1=1 --",
    '"; DROP TABLE scim_user; --',
    "'); DROP TABLE scim_token; --",
    "' UNION SELECT secret_hash FROM scim_token --",
    "%' OR '%'='",
    "\\' OR 1=1 --",
    "1; SELECT pg_sleep(3)",
    f"$(open('{PWNED[0]}','w'))",
    f"$(__import__('os').system('touch {PWNED[1]}'))",
    f"x$(open('{PWNED[2]}','w').write('1'))x",
    f"$(__import__('pathlib').Path('{PWNED[3]}').touch())",
    "$p0",
    "$(1/0)",
    "_%*?[",
]
USER_STRING_ATTRS = [
    "userName",
    "displayName",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    'emails[type eq "work"].value',
]
OPERATORS = ["eq", "co", "ew", "gt"]


def _literal(op: str, actual: str | None, wanted: str, folded: bool) -> bool:
    """What the filter means, evaluated in Python on the stored values."""
    if actual is None:
        return op == "ne"
    a, w = (fold(actual), fold(wanted)) if folded else (actual, wanted)
    return {
        "eq": a == w,
        "ne": a != w,
        "co": w in a,
        "sw": a.startswith(w),
        "ew": a.endswith(w),
        "gt": a > w,
    }[op]


def _filter(api: RunningApi, resource: str, text: str) -> set[str]:
    answer = api.request("GET", f"/scim/v2/{resource}?count=1000&filter={quote(text, safe='')}")
    assert answer.status == 200, (text, answer.status, answer.body[:300])
    return {r["id"] for r in answer.json["Resources"]}


def _tables(store: Store) -> set[str]:
    with db_session:
        if store.provider == "postgres":
            rows = store.db.select("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        else:
            rows = store.db.select("SELECT name FROM sqlite_master WHERE type = 'table'")
    return set(rows)


def _seed(api: RunningApi) -> dict[str, dict[str, Any]]:
    """One user and one group per payload, every filterable value carrying it, plus a decoy."""
    users: dict[str, dict[str, Any]] = {}
    for i, payload in enumerate([*PAYLOADS, "innocent"]):
        body = {
            "schemas": [USER_URN],
            "userName": f"{payload}#{i}",
            "externalId": payload,
            "displayName": payload,
            "name": {"givenName": payload, "familyName": payload},
            "emails": [{"value": payload, "type": "work", "primary": True}],
        }
        answer = api.request("POST", "/scim/v2/Users", body)
        assert answer.status == 201, (payload, answer.body)
        users[answer.json["id"]] = answer.json
        group = {
            "schemas": [GROUP_URN],
            "displayName": f"{payload}#{i}",
            "externalId": payload,
            "members": [{"value": answer.json["id"]}],
        }
        assert api.request("POST", "/scim/v2/Groups", group).status == 201
    return users


def _value(user: dict[str, Any], attribute: str) -> str | None:
    if attribute.startswith("emails"):
        return str(user["emails"][0]["value"])
    if attribute.startswith("name."):
        return str(user["name"][attribute.split(".")[1]])
    return user.get(attribute)


@pytest.mark.slow
def test_injection_payloads_in_filters_are_inert_and_literal(store: Store) -> None:
    with running_api(store) as api:
        users = _seed(api)
        tables = _tables(api.store)
        checked = 0
        for payload in PAYLOADS:
            quoted = json.dumps(payload)
            for attribute in USER_STRING_ATTRS:
                for op in OPERATORS:
                    got = _filter(api, "Users", f"{attribute} {op} {quoted}")
                    want = {
                        uid
                        for uid, u in users.items()
                        if _literal(op, _value(u, attribute), payload, True)
                    }
                    assert got == want, (attribute, op, payload)
                    checked += 1
            for attribute in ("externalId", "id"):
                for op in ("eq", "co", "sw"):
                    got = _filter(api, "Users", f"{attribute} {op} {quoted}")
                    want = {
                        uid
                        for uid, u in users.items()
                        if _literal(op, u.get(attribute), payload, False)
                    }
                    assert got == want, (attribute, op, payload)
            assert len(_filter(api, "Groups", f"externalId eq {quoted}")) == 1
            assert len(_filter(api, "Groups", f"displayName sw {quoted}")) >= 1
            assert _filter(api, "Groups", f"members.value eq {quoted}") == set()
            assert _filter(api, "Groups", f"members[value eq {quoted}]") == set()
            for attribute in ("meta.created", "meta.lastModified", "active"):
                answer = api.request(
                    "GET", f"/scim/v2/Users?filter={quote(f'{attribute} eq {quoted}')}"
                )
                assert answer.status == 400 and answer.json["scimType"] == "invalidFilter"
            answer = api.request(
                "GET", f"/scim/v2/Users?filter={quote(f'emails[type eq {quoted}]')}"
            )
            assert answer.status == 200 and answer.json["totalResults"] == 0
        assert checked == len(PAYLOADS) * len(USER_STRING_ATTRS) * len(OPERATORS)
        assert _tables(api.store) == tables
        assert not [p for p in PWNED if p.exists()]


def test_injection_payloads_elsewhere_are_inert(store: Store) -> None:
    with running_api(store) as api:
        users = _seed(api)
        tables = _tables(api.store)
        target = next(iter(users))
        for payload in PAYLOADS:
            quoted = json.dumps(payload)
            for path in (payload, f"emails[value eq {quoted}].value", f"{payload}.value"):
                ops = {
                    "schemas": [PATCH_URN],
                    "Operations": [{"op": "replace", "path": path, "value": payload}],
                }
                answer = api.request("PATCH", f"/scim/v2/Users/{target}", ops)
                assert answer.status in (200, 400), (path, answer.body)
            ops = {
                "schemas": [PATCH_URN],
                "Operations": [
                    {"op": "replace", "path": "title", "value": payload},
                    {"op": "replace", "value": {"nickName": payload}},
                ],
            }
            answer = api.request("PATCH", f"/scim/v2/Users/{target}", ops)
            assert answer.status == 200 and answer.json["title"] == payload
            assert answer.json["nickName"] == payload
            for query in (
                f"sortBy={quote(payload)}",
                f"attributes={quote(payload)}",
                f"excludedAttributes={quote(payload)}",
                f"sortOrder={quote(payload)}",
                f"startIndex={quote(payload)}",
                f"count={quote(payload)}",
            ):
                answer = api.request("GET", f"/scim/v2/Users?{query}")
                assert answer.status in (200, 400), (query, answer.body)
            search = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": f"userName sw {quoted}",
                "sortBy": "userName",
            }
            answer = api.request("POST", "/scim/v2/.search", search)
            assert answer.status == 200
            assert all(r["userName"].startswith(payload) for r in answer.json["Resources"])
            assert api.request("GET", f"/scim/v2/Users/{quote(payload, safe='')}").status == 404
        assert _tables(api.store) == tables
        assert api.request("GET", "/scim/v2/Users?count=0").json["totalResults"] == len(users)
        assert not [p for p in PWNED if p.exists()]
