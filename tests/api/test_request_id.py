"""The request id: one per request, echoed in ``X-Request-Id``, ending every SCIM error's
detail (in a body that strict SCIM clients still accept), and on every log line written
while the request is served, in text or JSON with UTC ISO 8601 timestamps."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace

import falcon
import pytest
from scim2_models import Error

from cli.logs import make_handler, utc_timestamp
from store.config import LoggingSettings, Settings
from tests.api.conftest import Scim, assert_scim_error

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """The service's own handler (text format) on the root logger, writing to a buffer."""
    stream = io.StringIO()
    handler = make_handler(Settings(), stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_each_response_carries_a_fresh_request_id(scim: Scim) -> None:
    first, second = scim.get("/Users"), scim.get("/Users")
    assert HEX_ID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_sane_incoming_request_id_is_kept(scim: Scim) -> None:
    sent = "okta-7f3a9c21:req.42_x"
    assert scim.get("/Users", headers={"X-Request-Id": sent}).headers["x-request-id"] == sent


@pytest.mark.parametrize(
    "sent", ["short", "x" * 65, "evil\r\nSet-Cookie: a=b", "has space in it", '{"json":1}',
             "-starts-with-dash", "caf\u00e9-latte-id", "$(touch /tmp/x)"],
)  # fmt: skip
def test_any_other_incoming_request_id_is_replaced(scim: Scim, sent: str) -> None:
    got = scim.get("/Users", headers={"X-Request-Id": sent}).headers["x-request-id"]
    assert HEX_ID.fullmatch(got)


def test_scim_errors_end_with_the_request_id_and_stay_valid_for_strict_clients(
    scim: Scim,
) -> None:
    result = scim.get("/Users", params={"filter": 'nickName eq "x"'})
    body = assert_scim_error(result, 400, "invalidFilter")
    request_id = result.headers["x-request-id"]
    assert body["detail"].endswith(f" (request id {request_id})")
    error = Error.model_validate(body)  # extra members would be refused (extra="forbid")
    assert error.status == 400 and error.scim_type == "invalidFilter"
    unauthenticated = scim.get("/Users", token=None)
    assert unauthenticated.headers["x-request-id"] in unauthenticated.json["detail"]
    Error.model_validate(unauthenticated.json)


def test_each_request_logs_one_access_line_with_its_request_id(
    scim: Scim, log_lines: tuple[io.StringIO, logging.Handler]
) -> None:
    stream, _ = log_lines
    result = scim.get("/Users/abc%0Aforged", headers={"X-Request-Id": "support-case-00017"})
    assert result.status_code == 404
    lines = [line for line in stream.getvalue().splitlines() if "trident_scim.access" in line]
    assert len(lines) == 1
    line = lines[0]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.match(stamp + r" INFO trident_scim\.access \[support-case-00017\]: "
                    r"GET /scim/v2/Users/abc\\x0aforged 404 ", line)  # fmt: skip
    assert "token=Okta\\x20SCIM" in line  # one field: its space escaped


def test_log_lines_written_while_serving_a_request_carry_its_id(
    scim: Scim, log_lines: tuple[io.StringIO, logging.Handler]
) -> None:
    stream, _ = log_lines
    scim.get("/Users", token="tscim_" + "y" * 43, headers={"X-Request-Id": "idp-retry-000123"})
    refused = [line for line in stream.getvalue().splitlines() if "authentication refused" in line]
    assert len(refused) == 1 and "[idp-retry-000123]" in refused[0]
    logging.getLogger("outside").warning("not in a request")
    assert "outside: not in a request" in stream.getvalue()  # no stale id left behind


def test_json_log_lines_are_one_object_each_in_utc(
    app: falcon.App, scim: Scim, log_lines: tuple[io.StringIO, logging.Handler]
) -> None:
    stream = io.StringIO()
    settings = replace(Settings(), logging=LoggingSettings(format="json"))
    handler = make_handler(settings, stream)
    logging.getLogger().addHandler(handler)
    try:
        scim.get("/Users", headers={"X-Request-Id": "json-request-0001"})
    finally:
        logging.getLogger().removeHandler(handler)
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "trident_scim.access"]
    assert len(access) == 1 and access[0]["request_id"] == "json-request-0001"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", access[0]["time"])
    assert access[0]["message"].startswith("GET /scim/v2/Users 200 ")


def test_timestamps_are_utc_whatever_the_local_zone() -> None:
    assert utc_timestamp(0.25) == "1970-01-01T00:00:00.250Z"
    assert utc_timestamp(1_767_225_600.5) == "2026-01-01T00:00:00.500Z"


HOSTILE = (
    "evil\x1b]52;c;cHduZWQ=\x07\x1b[2J\u202egnp.exe\n2026-01-01T00:00:00.000Z INFO fake: forged"
)


def test_text_log_lines_show_outside_text_escaped_and_cannot_forge_a_line(
    log_lines: tuple[io.StringIO, logging.Handler],
) -> None:
    """A message or an exception carrying an IdP's text (a userName inside a database error,
    say) reaches the operator's terminal escaped, and a line break in it starts no record."""
    stream, _ = log_lines
    log = logging.getLogger("trident_scim.worker")
    log.warning("job failed for %s", HOSTILE)
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        log.exception("job %s failed", "reconcile")
    text = stream.getvalue()
    assert not [ch for ch in text if ch != "\n" and (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0)]
    assert "\u202e" not in text and "\\x1b]52;c;" in text and "\\u202e" in text
    lines = text.splitlines()
    records = [line for line in lines if not line.startswith("    ")]
    assert len(records) == 2, lines
    assert records[0].endswith("job failed for " + HOSTILE.replace("\x1b", "\\x1b")
                               .replace("\x07", "\\x07").replace("\u202e", "\\u202e")
                               .replace("\n", "\\x0a"))  # fmt: skip
    assert records[1].endswith("job reconcile failed")
    assert any("Traceback" in line for line in lines[2:]) and not any(
        line.startswith("2026-01-01T00:00:00.000Z") for line in lines
    )
