"""Header and path smuggling on the wire, through a real waitress server on 127.0.0.1: two
Authorization headers (a valid token beside a revoked one or another connection's), a
header name with an underscore (which WSGI spells like the dashed one), and spellings of
the SCIM path that a prefix check might miss. None may authenticate, pick a scope, record a
forged address, or reach a resource without a token. Both backends."""

from __future__ import annotations

import socket

import pytest

from store.context import Store
from store.queries.identity import active_sessions, user_id_for
from store.services.sessions import start_session
from store.services.tokens import issue_token, revoke_token
from tests.security.harness import Answer, _read_answer, raw_request, running_api

OPERATOR = "operator:test"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


def _get(port: int, target: str, *header_lines: str) -> Answer:
    """A GET whose header lines go on the wire exactly as given, repeats included."""
    head = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    data = ("\r\n".join([*head, *header_lines]) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), 30) as sock:
        sock.sendall(data)
        return _read_answer(sock)


def test_two_authorization_headers_never_authenticate(store: Store) -> None:
    with running_api(store) as api:
        other = issue_token(api.store, "JumpCloud", OPERATOR).secret
        old = issue_token(api.store, "Okta old", OPERATOR, connection="Okta SCIM").secret
        revoke_token(api.store, "Okta old", OPERATOR)
        pairs = [(api.token, old), (old, api.token), (other, api.token), (api.token, other),
                 (api.token, api.token)]  # fmt: skip
        for first, second in pairs:
            answer = _get(
                api.port,
                "/scim/v2/Users",
                f"Authorization: Bearer {first}",
                f"Authorization: Bearer {second}",
            )
            assert answer.status == 401 and answer.is_scim_error(), answer.body[:200]
        assert _get(api.port, "/scim/v2/Users", f"Authorization: Bearer {api.token}").status == 200


def test_an_underscored_header_is_neither_authorization_nor_a_forwarded_address(
    store: Store,
) -> None:
    with running_api(store, trusted_proxies=("127.0.0.1",)) as api:
        assert _get(api.port, "/scim/v2/Users", f"Authorization_: Bearer {api.token}").status == 401
        api.request("POST", "/scim/v2/Users", {"schemas": [USER_URN], "userName": "j@x.com"})
        _, cookie = start_session(api.store, "j@x.com", "sso")
        checked = _get(
            api.port,
            "/auth/session",
            f"Cookie: control_session={cookie}",
            "X_Forwarded_For: 203.0.113.66",
        )
        assert checked.status == 200, checked.body
        sessions = active_sessions(api.store, user_id_for(api.store, "j@x.com"))
        assert [s.client_address for s in sessions] == [None]


@pytest.mark.parametrize(
    "target",
    ["//scim/v2/Users", "/scim/v2//Users", "/scim//v2/Users", "/SCIM/v2/Users",
     "/scim/V2/Users", "/scim/v2/Users/", "/scim/v2/./Users", "/scim/v2/../scim/v2/Users",
     "/scim/v2%2FUsers", "/%73cim/v2/Users", "/scim/v2/Users;x", "/./scim/v2/Users",
     "/auth/../scim/v2/Users", "/scim/v2\\Users", "/scim/v2/Users%00",
     "http://127.0.0.1/scim/v2/Users", "/scim/v2/Users/{id}/", "/scim/v2/Users/{id}%2F"],
)  # fmt: skip
def test_no_spelling_of_a_scim_path_answers_without_a_token(store: Store, target: str) -> None:
    with running_api(store) as api:
        made = api.request("POST", "/scim/v2/Users", {"schemas": [USER_URN], "userName": "v@x.com"})
        answer = raw_request(api.port, "GET", target.replace("{id}", made.json["id"]))
        assert answer.status in (400, 401, 404), (answer.status, answer.body[:200])
        assert b"v@x.com" not in answer.body
