"""Secrets never logged nor stored: tokens, session ids, and the passwords IdPs send.

``trident-scim serve`` runs as a separate process with DEBUG logging to a file. Tokens are
used, refused and revoked, sessions checked and ended, and IdP payloads carrying ``password``
accepted and refused. Then the log, the answers, and every byte of the database (the SQLite
file and its WAL, or a PostgreSQL data dump, so the request log and audit tables included) are
searched for each secret.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from store.context import Store
from tests.scim.payloads import OKTA_CREATE
from tests.security.harness import PATCH_URN, Answer, database_text, raw_request
from tests.security.process import Served, cli, new_token, serve, write_config


def _send(
    served: Served,
    method: str,
    path: str,
    token: str | None,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    sent = {"Content-Type": "application/scim+json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    return raw_request(served.port, method, path, sent, data)


def _provision(served: Served, token: str, passwords: list[str]) -> tuple[str, list[Answer]]:
    create = {**OKTA_CREATE, "password": passwords[0]}
    created = _send(served, "POST", "/scim/v2/Users", token, create)
    assert created.status == 201, created.body
    uid = created.json["id"]
    put = {**OKTA_CREATE, "password": passwords[1], "displayName": "Jane D."}
    answers = [created, _send(served, "PUT", f"/scim/v2/Users/{uid}", token, put)]
    for ops in (
        [{"op": "replace", "path": "password", "value": passwords[2]}],
        [{"op": "replace", "value": {"password": passwords[3]}}],
    ):
        answers.append(
            _send(
                served,
                "PATCH",
                f"/scim/v2/Users/{uid}",
                token,
                {"schemas": [PATCH_URN], "Operations": ops},
            )
        )
    refused = {**OKTA_CREATE, "userName": {"bad": True}, "password": passwords[4]}
    answers.append(_send(served, "POST", "/scim/v2/Users", token, refused))
    assert answers[-1].status == 400
    assert all(a.status < 500 for a in answers), [a.status for a in answers]
    return uid, answers


@pytest.mark.slow
def test_secrets_appear_in_no_log_answer_or_database_byte(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    config = write_config(tmp_path / "config.toml", store_url, '[logging]\nlevel = "DEBUG"\n')
    cli(config, "db", "init")
    token, revoked = new_token(config, "Okta SCIM"), new_token(config, "Old IdP")
    cli(config, "token", "revoke", "Old IdP")
    guess = "tscim_" + secrets.token_urlsafe(32)
    passwords = [f"Pw-{i}-{secrets.token_hex(8)}" for i in range(5)]
    served = serve(config, tmp_path / "serve.log")
    try:
        uid, answers = _provision(served, token, passwords)
        cookie = cli(config, "session", "start", "jane@example.com").stdout.strip().splitlines()[-1]
        check = {"Cookie": f"control_session={cookie}"}
        assert _send(served, "GET", "/auth/session", None, headers=check).status == 200
        for bad in (revoked, guess, cookie):
            answers.append(_send(served, "GET", "/scim/v2/Users", bad))
            assert answers[-1].status == 401
        assert _send(served, "GET", "/auth/session", token).status == 401
        off = {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        }
        assert _send(served, "PATCH", f"/scim/v2/Users/{uid}", token, off).status == 200
        assert _send(served, "GET", "/auth/session", None, headers=check).status == 401
    finally:
        assert served.stop() == 0
    log, stored = served.log(), database_text(store_url)
    assert "authentication refused" in log  # the log was written
    places = {"log": log, "database": stored, "answers": b"".join(a.body for a in answers)}
    for secret in [token, revoked, guess, cookie, *passwords]:
        for place, text in places.items():
            hay = text if isinstance(text, str) else text.decode("latin-1")
            assert secret not in hay, (place, secret[:10])
            if secret.startswith(("tscim_", "tcs_")):
                assert secret[10:] not in hay, (place, secret[:10])  # a prefix at most
