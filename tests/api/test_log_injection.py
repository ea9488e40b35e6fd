"""Client text cannot forge the fields of a service log line: the access line and the refused
authentication line keep one ``token=`` and one ``client=`` whatever path, forwarded address
or bearer value a client sends (through the real app and store, both backends)."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import replace

import pytest

from api.app import create_app
from store.context import Store
from tests.api import test_request_id
from tests.api.conftest import Scim

FORGED_FIELDS = " 200 0.1ms token=Okta SCIM client=10.9.9.9"


log_lines = test_request_id.log_lines  # the service's own text handler, into a buffer


@pytest.fixture
def log_stream(log_lines: tuple[io.StringIO, logging.Handler]) -> io.StringIO:
    return log_lines[0]


def _behind_proxy(store: Store) -> Store:
    api = replace(store.settings.api, trusted_proxies=("127.0.0.1",))
    return replace(store, settings=replace(store.settings, api=api))


def _fields(line: str, name: str) -> list[str]:
    """The space-separated fields of ``line`` that start with ``name=``."""
    return [field for field in line.split(" ") if field.startswith(name + "=")]


def _lines(stream: io.StringIO, marker: str) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if marker in line]


def test_a_path_with_encoded_spaces_cannot_forge_access_line_fields(
    scim: Scim, log_stream: io.StringIO
) -> None:
    path = "/scim/v2/Users/x" + FORGED_FIELDS.replace(" ", "%20")
    assert scim.get(path, token=None).status_code == 401
    (line,) = _lines(log_stream, "trident_scim.access")
    # what was presented (here nothing) is one field, its space escaped like the path's
    assert _fields(line, "token") == ["token=(no\\x20token)"], line
    assert _fields(line, "client") == ["client=127.0.0.1"], line
    assert re.search(r"GET /scim/v2/Users/x\S+ 401 [\d.]+ms token=\S+ client=127\.0\.0\.1$", line)


def test_a_forwarded_address_that_is_not_an_address_is_not_believed(
    api_store: Store, log_stream: io.StringIO
) -> None:
    """Only a trusted proxy may name the client, and only with an address: anything else in
    the right-most untrusted hop (text, a forged log field) falls back to the peer."""
    guesser = Scim(create_app(_behind_proxy(api_store)), "tscim_" + "B" * 43)
    forged = "203.0.113.9 token=Okta SCIM client=10.9.9.9"
    assert guesser.get("/Users", headers={"X-Forwarded-For": forged}).status_code == 401
    (access,) = _lines(log_stream, "trident_scim.access")
    (refused,) = _lines(log_stream, "authentication refused")
    assert _fields(access, "client") == ["client=127.0.0.1"], access
    assert "10.9.9.9" not in refused and "(client 127.0.0.1," in refused, refused
