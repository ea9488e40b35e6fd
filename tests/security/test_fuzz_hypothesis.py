"""Hypothesis against the running server: arbitrary filter text, query parameters and JSON
bodies. Derandomized (the same examples every run) and bounded (``max_examples``).

Each answer must be a 2xx or a SCIM error with a 4xx status; no answer may be a 5xx; nothing a
rejected request carried may change the store.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.context import Store
from tests.security.harness import (
    PATCH_URN,
    USER_URN,
    Answer,
    RunningApi,
    running_api,
    snapshot,
    snapshot_diff,
)

EXAMPLES = 120
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
ERROR_STATUSES = {400, 401, 404, 405, 409, 412, 413, 415, 429}

filter_words = st.sampled_from(
    [
        "userName",
        'emails[type eq "work"].value',
        "name.givenName",
        "members.value",
        "meta.created",
        "eq",
        "ne",
        "co",
        "sw",
        "pr",
        "gt",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        '"',
        "\\",
        '"jane@example.com"',
        "true",
        "null",
        "1e400",
        "$(x)",
        "'",
        ";",
        "--",
        " ",
    ]
)
filters = st.one_of(
    st.text(max_size=200),
    st.lists(filter_words, min_size=1, max_size=12).map(" ".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "userName",
                    "schemas",
                    "Operations",
                    "op",
                    "path",
                    "value",
                    "active",
                    "emails",
                    "members",
                    "displayName",
                    "name",
                    "x",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def _check(answer: Answer, seen: Counter[int]) -> None:
    seen[answer.status] += 1
    assert answer.status < 500, answer.body[:300]
    assert 200 <= answer.status < 300 or answer.status in ERROR_STATUSES, answer.status
    if answer.status >= 400:
        assert answer.is_scim_error(), answer.body[:300]


def _unchanged_unless_accepted(api: RunningApi, send: Any, seen: Counter[int]) -> None:
    before = snapshot(api.store)
    answer = send()
    _check(answer, seen)
    if answer.status >= 300:
        after = snapshot(api.store)
        assert after == before, (answer.status, snapshot_diff(before, after), answer.body[:200])


@pytest.mark.slow
def test_arbitrary_filters_and_query_parameters(store: Store, backend: str) -> None:
    seen: Counter[int] = Counter()
    with running_api(store) as api:
        api.request(
            "POST", "/scim/v2/Users", {"schemas": [USER_URN], "userName": "jane@example.com"}
        )
        before = snapshot(api.store)

        @FUZZ_SETTINGS
        @given(text=filters, resource=st.sampled_from(["Users", "Groups"]))
        def filter_answers(text: str, resource: str) -> None:
            _check(api.request("GET", f"/scim/v2/{resource}?filter={quote(text, safe='')}"), seen)

        @FUZZ_SETTINGS
        @given(
            params=st.dictionaries(
                st.sampled_from(
                    [
                        "startIndex",
                        "count",
                        "sortBy",
                        "sortOrder",
                        "attributes",
                        "excludedAttributes",
                        "filter",
                    ]
                ),
                st.one_of(st.text(max_size=40), st.integers(-(10**30), 10**30).map(str)),
                max_size=5,
            )
        )
        def query_answers(params: dict[str, str]) -> None:
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
            _check(api.request("GET", f"/scim/v2/Users?{query}"), seen)

        filter_answers()
        query_answers()
        assert snapshot(api.store) == before  # reading never writes
    print(f"\nhypothesis filters/params [{backend}]: {sum(seen.values())} requests, {dict(seen)}")
    assert seen[400] and seen[200]


@pytest.mark.slow
def test_arbitrary_json_bodies(store: Store, backend: str) -> None:
    seen: Counter[int] = Counter()
    with running_api(store) as api:
        user = api.request(
            "POST", "/scim/v2/Users", {"schemas": [USER_URN], "userName": "jane@example.com"}
        ).json["id"]

        @FUZZ_SETTINGS
        @given(
            body=json_values,
            target=st.sampled_from(
                [
                    "POST /Users",
                    "POST /Groups",
                    "PUT /Users/{u}",
                    "PATCH /Users/{u}",
                    "PATCH /Groups/nope",
                    "POST /.search",
                ]
            ),
        )
        def body_answers(body: Any, target: str) -> None:
            method, path = target.format(u=user).split(" ")
            raw = json.dumps(body).encode()
            _unchanged_unless_accepted(
                api, lambda: api.request(method, "/scim/v2" + path, raw=raw), seen
            )

        @FUZZ_SETTINGS
        @given(
            ops=st.lists(
                st.fixed_dictionaries(
                    {
                        "op": st.sampled_from(["add", "Replace", "remove", "copy", ""]),
                        "path": st.one_of(
                            st.none(),
                            st.sampled_from(
                                [
                                    "active",
                                    "userName",
                                    'emails[type eq "work"].value',
                                    "name.givenName",
                                    "emails[",
                                    "members",
                                    "meta.version",
                                    "id",
                                    "groups",
                                    "password",
                                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                                ]
                            ),
                            st.text(max_size=30),
                        ),
                        "value": json_values,
                    }
                ),
                min_size=1,
                max_size=4,
            )
        )
        def patch_answers(ops: list[dict[str, Any]]) -> None:
            body = {"schemas": [PATCH_URN], "Operations": ops}
            send = lambda: api.request("PATCH", f"/scim/v2/Users/{user}", body)  # noqa: E731
            _unchanged_unless_accepted(api, send, seen)

        body_answers()
        patch_answers()
    print(f"\nhypothesis bodies [{backend}]: {sum(seen.values())} requests, {dict(seen)}")
    assert seen[400]
