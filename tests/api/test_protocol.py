"""The HTTP envelope: content types, body limits, malformed input, unknown routes and methods.
Every answer is application/scim+json, every failure a SCIM error, never a 500."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.api.conftest import GROUP_URN, SCIM, SCIM_JSON, USER_URN, Scim, assert_scim_error

JANE = {"schemas": [USER_URN], "userName": "jane@example.com", "active": True}


@pytest.mark.parametrize(
    "content_type",
    ["application/scim+json", "application/json", "application/json; charset=utf-8",
     "Application/SCIM+JSON; charset=UTF-8"],
)  # fmt: skip
def test_json_and_scim_json_requests_are_accepted(scim: Scim, content_type: str) -> None:
    result = scim.post("/Users", raw=json.dumps(JANE).encode(), content_type=content_type)
    assert result.status_code == 201, result.text
    assert result.headers["content-type"] == SCIM_JSON


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_415(scim: Scim, content_type: str) -> None:
    result = scim.post("/Users", raw=json.dumps(JANE).encode(), content_type=content_type)
    assert_scim_error(result, 415)
    assert scim.get("/Users").json["totalResults"] == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"userName": ', b"", b"\xff\xfe{}", b"[" * 50_000, b'{"userName": NaN}', b"nul\x00l"],
    ids=["truncated", "empty", "bad-utf8", "deep-nesting", "nan", "nul"],
)
def test_malformed_json_is_invalid_syntax(scim: Scim, raw: bytes) -> None:
    assert_scim_error(scim.post("/Users", raw=raw), 400, "invalidSyntax")


@pytest.mark.parametrize("body", [[JANE], "jane", 42, None, True])
def test_a_body_that_is_not_an_object_is_refused(scim: Scim, body: object) -> None:
    result = scim.post("/Users", raw=json.dumps(body).encode())
    assert result.status_code == 400, result.text
    assert_scim_error(result, 400, result.json.get("scimType"))
    assert result.json.get("scimType") in ("invalidSyntax", "invalidValue")


def test_body_over_the_limit_is_413(scim: Scim) -> None:
    limit = 1_048_576
    big = dict(JANE, displayName="x" * limit)
    assert_scim_error(scim.post("/Users", raw=json.dumps(big).encode()), 413)
    assert scim.get("/Users").json["totalResults"] == 0


def test_declared_length_over_the_limit_is_413_before_reading(scim: Scim) -> None:
    result = scim.post("/Users", raw=b"{}", headers={"Content-Length": str(50 * 1024 * 1024)})
    assert_scim_error(result, 413)


def test_unknown_endpoint_is_scim_404(scim: Scim) -> None:
    for path in ("/Nope", "/Users/a/b", "/../../etc/passwd", "/Users/%2e%2e%2fetc"):
        result = scim.get(path)
        assert_scim_error(result, 404)


def test_unknown_endpoint_outside_scim_is_scim_404(scim: Scim) -> None:
    assert_scim_error(scim.client.simulate_get("/nothing-here"), 404)


def test_wrong_method_is_scim_405_with_allow(scim: Scim) -> None:
    result = scim.request("DELETE", "/Users")
    assert_scim_error(result, 405)
    assert "GET" in result.headers["allow"] and "POST" in result.headers["allow"]
    assert_scim_error(scim.request("PUT", "/ServiceProviderConfig", {}), 405)


def test_success_responses_are_scim_json(scim: Scim) -> None:
    for path in ("/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes"):
        result = scim.get(path)
        assert result.status_code == 200, path
        assert result.headers["content-type"] == SCIM_JSON


def test_trailing_slash_is_tolerated(scim: Scim) -> None:
    assert scim.get("/Users/").status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"startIndex": "abc"}, {"count": "1e9"}, {"count": "-"}, {"sortOrder": "sideways"},
     {"sortBy": "password"}, {"attributes": "a" * 5000}, {"filter": "("},
     {"filter": "userName eq"}, {"filter": 'userName eq "' + "a" * 10000 + '"'},
     {"filter": "(" * 40 + "userName pr" + ")" * 40},
     {"filter": 'userName eq "\x00"'}, {"filter": "$(touch /tmp/x)"}],
)  # fmt: skip
def test_bad_query_parameters_are_4xx_never_5xx(scim: Scim, params: dict[str, str]) -> None:
    scim.create_user("jane@example.com")
    for path in ("/Users", "/Groups"):
        result = scim.get(path, params=params)
        assert 200 <= result.status_code < 500, result.text
        assert result.headers["content-type"] == SCIM_JSON
        if result.status_code >= 400:
            assert_scim_error(result, result.status_code, result.json.get("scimType"))


@pytest.mark.parametrize("user_id", ["x" * 500, "\x00", "../etc", "' OR 1=1 --", "%00", "é" * 70])
def test_garbage_ids_are_404(scim: Scim, user_id: str) -> None:
    for method in ("GET", "DELETE"):
        assert_scim_error(scim.request(method, "/Users/" + user_id), 404)
        assert_scim_error(scim.request(method, "/Groups/" + user_id), 404)
    assert_scim_error(scim.put("/Users/" + user_id, JANE), 404)


def test_repeated_query_parameter_is_invalid_value(scim: Scim) -> None:
    result = scim.client.simulate_get(
        "/scim/v2/Users",
        query_string="count=1&count=2",
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    assert_scim_error(result, 400, "invalidValue")


def test_healthz_is_open_and_reports_the_database(scim: Scim) -> None:
    result = scim.get("/healthz", token=None)
    assert result.status_code == 200
    assert result.json["database"] == "reachable"
    assert result.json["version"] == "0.2.0"


@pytest.mark.parametrize("text", ["nul\x00byte", "x" * 100_000, "\ud800", "é" * 600, " "])
def test_hostile_strings_in_bodies_never_500(scim: Scim, text: str) -> None:
    raw_user = json.dumps({"schemas": [USER_URN], "userName": text, "externalId": text,
                           "displayName": text, "name": {"givenName": text},
                           "emails": [{"value": text, "type": text}]})  # fmt: skip
    created = scim.post("/Users", raw=raw_user.encode("utf-8", "surrogatepass"))
    assert created.status_code in (201, 400), created.text
    if created.status_code == 400:
        assert_scim_error(created, 400, created.json.get("scimType"))
    group = scim.create_group("G")
    for body in (
        {"schemas": [GROUP_URN], "displayName": text},
        {"schemas": [GROUP_URN], "displayName": "H", "members": [{"value": text}]},
    ):
        result = scim.post("/Groups", raw=json.dumps(body).encode())
        assert result.status_code in (201, 400, 404, 409), result.text
    for op in ({"op": "add", "path": "members", "value": [{"value": text}]},
               {"op": "remove", "path": "members", "value": [{"value": text}]},
               {"op": "remove", "path": f'members[value eq "{text}"]'},
               {"op": "replace", "path": "members", "value": [{"value": text}]}):  # fmt: skip
        raw = json.dumps({"Operations": [op]}).encode()
        result = scim.patch(f"/Groups/{group['id']}", raw=raw)
        assert result.status_code in (204, 400, 404), result.text
    for path in ("/Users", "/Groups"):
        query = "filter=" + quote(f'displayName eq "{text}"'.encode("utf-8", "surrogatepass"))
        flt = scim.client.simulate_get(
            SCIM + path, query_string=query, headers={"Authorization": f"Bearer {scim.token}"}
        )
        assert flt.status_code in (200, 400), flt.text


class _Broken:
    """A responder with a bug, to see what a client gets when the service fails."""

    def on_get(self, req: object, resp: object) -> None:
        raise RuntimeError("secret-internal-detail at /srv/app.py line 42")


def test_an_unexpected_error_is_a_bare_scim_500(app: object, scim: Scim, caplog: object) -> None:
    app.add_route("/scim/v2/Broken", _Broken())  # type: ignore[attr-defined]
    result = scim.get("/Broken")
    body = assert_scim_error(result, 500)
    request_id = result.headers["x-request-id"]
    assert body["detail"] == f"Internal server error (request id {request_id})"
    assert "secret-internal-detail" not in result.text and "RuntimeError" not in result.text
    assert "secret-internal-detail" in caplog.text  # type: ignore[attr-defined]
