"""Request limits, enforced at the edge of the running server and advertised truthfully in
``/ServiceProviderConfig``: body size (413), filter length and depth, ``count`` capped at
``maxResults``, operations per PATCH."""

from __future__ import annotations

import json
from urllib.parse import quote

from store.config import ApiSettings
from store.context import Store
from tests.security.harness import (
    PATCH_URN,
    USER_URN,
    Answer,
    RunningApi,
    raw_request,
    running_api,
    snapshot,
)

LIMITS = {"max_body_bytes": 4096, "max_results": 5, "max_operations": 3, "max_filter_length": 300}


def _error(answer: Answer, status: int, scim_type: str | None = None) -> None:
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.is_scim_error(), answer.body[:300]
    assert answer.json.get("scimType") == scim_type


LIMITS_URN = "urn:tridentstack:params:scim:schemas:extension:limits:2.0:ServiceProviderConfig"


def _advertised(api: RunningApi) -> dict[str, object]:
    """The core document, with this service's limits extension asked for."""
    answer = api.request("GET", f"/scim/v2/ServiceProviderConfig?attributes={LIMITS_URN},bulk")
    assert answer.status == 200
    core = api.request("GET", "/scim/v2/ServiceProviderConfig").json
    assert core["bulk"] == answer.json["bulk"] and LIMITS_URN not in core
    return {**answer.json, **answer.json[LIMITS_URN]}


def _body_of_size(size: int) -> bytes:
    """A valid user creation of exactly ``size`` bytes (padding in a kept attribute)."""
    base = {"schemas": [USER_URN], "userName": f"pad{size}@example.com", "title": ""}
    pad = size - len(json.dumps(base).encode())
    base["title"] = "t" * pad
    body = json.dumps(base).encode()
    assert len(body) == size
    return body


def test_service_provider_config_tells_the_defaults_truthfully(store: Store) -> None:
    defaults = ApiSettings()
    with running_api(store) as api:
        config = _advertised(api)
    assert config["maxResults"] == defaults.max_results
    assert config["maxOperations"] == defaults.max_operations
    assert config["maxPayloadSize"] == defaults.max_body_bytes
    assert config["maxFilterLength"] == defaults.max_filter_length
    assert config["bulk"]["maxPayloadSize"] == defaults.max_body_bytes  # type: ignore[index]


def test_body_size_limit_is_413_and_advertised(store: Store) -> None:
    with running_api(store, **LIMITS) as api:
        limit = _advertised(api)["maxPayloadSize"]
        assert limit == LIMITS["max_body_bytes"]
        at_limit = api.request("POST", "/scim/v2/Users", raw=_body_of_size(limit))
        assert at_limit.status == 201, at_limit.body
        before = snapshot(api.store)
        over = _body_of_size(limit + 1)
        _error(api.request("POST", "/scim/v2/Users", raw=over), 413)
        headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/scim+json"}
        chunked = raw_request(api.port, "POST", "/scim/v2/Users", headers, over, chunked=True)
        _error(chunked, 413)
        # Far beyond the limit, waitress cuts the upload off itself (still 413, in its own
        # plain-text form) so that no thread ever buffers it.
        huge = b"x" * ((16 << 20) + 1)
        for chunks in (False, True):
            answer = raw_request(api.port, "POST", "/scim/v2/Users", headers, huge, chunked=chunks)
            assert answer.status == 413
        assert snapshot(api.store) == before


def test_count_is_capped_at_the_advertised_maximum(store: Store) -> None:
    with running_api(store, **LIMITS) as api:
        most = _advertised(api)["maxResults"]
        assert most == LIMITS["max_results"]
        for i in range(most + 3):
            body = {"schemas": [USER_URN], "userName": f"u{i}@example.com"}
            assert api.request("POST", "/scim/v2/Users", body).status == 201
        for count in (most + 1, 1000, 10**12):
            page = api.request("GET", f"/scim/v2/Users?count={count}").json
            assert page["itemsPerPage"] == most == len(page["Resources"])
            assert page["totalResults"] == most + 3
        search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 99}
        page = api.request("POST", "/scim/v2/Users/.search", search).json
        assert len(page["Resources"]) == most
        page = api.request("GET", "/scim/v2/Users?startIndex=6&count=1000").json
        assert len(page["Resources"]) == 3  # the rest, still within the cap


def test_patch_operation_count_limit_is_enforced_and_advertised(store: Store) -> None:
    with running_api(store, **LIMITS) as api:
        most = _advertised(api)["maxOperations"]
        assert most == LIMITS["max_operations"]
        user = api.request(
            "POST", "/scim/v2/Users", {"schemas": [USER_URN], "userName": "p@example.com"}
        ).json["id"]
        ops = [{"op": "replace", "path": "title", "value": f"T{i}"} for i in range(most + 1)]
        before = snapshot(api.store)
        too_many = api.request(
            "PATCH", f"/scim/v2/Users/{user}", {"schemas": [PATCH_URN], "Operations": ops}
        )
        _error(too_many, 400, "tooMany")
        assert snapshot(api.store) == before
        ok = api.request(
            "PATCH", f"/scim/v2/Users/{user}", {"schemas": [PATCH_URN], "Operations": ops[:most]}
        )
        assert ok.status == 200 and ok.json["title"] == f"T{most - 1}"


def test_filter_length_and_depth_limits(store: Store) -> None:
    with running_api(store, **LIMITS) as api:
        limit = LIMITS["max_filter_length"]
        prefix = 'userName eq "'
        fits = prefix + "a" * (limit - len(prefix) - 1) + '"'
        assert len(fits) == limit
        assert api.request("GET", f"/scim/v2/Users?filter={_q(fits)}").status == 200
        longer = prefix + "a" * (limit - len(prefix)) + '"'
        _error(api.request("GET", f"/scim/v2/Users?filter={_q(longer)}"), 400, "invalidFilter")
        shallow = "(" * 8 + 'userName eq "x"' + ")" * 8
        assert api.request("GET", f"/scim/v2/Users?filter={_q(shallow)}").status == 200
        deep = "(" * 60 + 'userName eq "x"' + ")" * 60
        _error(api.request("GET", f"/scim/v2/Users?filter={_q(deep)}"), 400, "invalidFilter")
        nots = "not (" * 40 + 'userName eq "x"' + ")" * 40
        _error(api.request("GET", f"/scim/v2/Users?filter={_q(nots)}"), 400, "invalidFilter")


def test_filter_comparison_count_is_bounded(store: Store) -> None:
    with running_api(store) as api:
        many = " or ".join(f'id eq "{i}"' for i in range(201))
        _error(api.request("GET", f"/scim/v2/Users?filter={_q(many)}"), 400, "invalidFilter")
        fewer = " or ".join(f'id eq "{i}"' for i in range(150))
        assert api.request("GET", f"/scim/v2/Users?filter={_q(fewer)}").status == 200


def _q(text: str) -> str:
    return quote(text, safe="")
