"""API tests: the real Falcon app over a real store (SQLite file and PostgreSQL), called
through ``falcon.testing``. Tokens are issued through the store like an operator would."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import falcon
import falcon.testing
import pytest

from api.app import create_app
from store.config import RateLimitSettings
from store.context import Store
from tests.support import default_token

SCIM = "/scim/v2"
SCIM_JSON = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def roomy(store: Store) -> Store:
    """The store with a burst large enough that a frozen test clock never throttles."""
    limits = RateLimitSettings(requests_per_minute=60, burst=1_000_000)
    return replace(store, settings=replace(store.settings, rate_limit=limits))


@pytest.fixture
def api_store(store: Store) -> Store:
    return roomy(store)


@pytest.fixture
def token(api_store: Store) -> str:
    """The IdP of the ``default`` connection: it sees what a test seeds through the store."""
    return default_token(api_store, "Okta SCIM", rate_limit=1_000_000).secret


@pytest.fixture
def app(api_store: Store) -> falcon.App:
    return create_app(api_store)


class Scim:
    """A falcon.testing client speaking SCIM with a bearer token."""

    def __init__(self, app: falcon.App, token: str | None) -> None:
        self.client = falcon.testing.TestClient(app)
        self.token = token

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = "",
                headers: dict[str, str] | None = None, raw: bytes | None = None,
                params: dict[str, Any] | None = None, content_type: str = SCIM_JSON,
                ) -> falcon.testing.Result:  # fmt: skip
        sent = {"User-Agent": "Okta SCIM Client 1.0.0"}
        bearer = self.token if token == "" else token
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        if body is not None or raw is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        url = path if path.startswith((SCIM, "/auth/", "/healthz")) else SCIM + path
        return self.client.simulate_request(
            method, url, json=body if raw is None else None, body=raw, headers=sent, params=params
        )

    def get(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kw)

    # -- shortcuts ------------------------------------------------------------------------

    def create_user(self, user_name: str, **extra: Any) -> dict[str, Any]:
        body = {"schemas": [USER_URN], "userName": user_name, "active": True, **extra}
        result = self.post("/Users", body)
        assert result.status_code == 201, result.text
        return result.json

    def create_group(self, name: str, members: list[str] = (), **extra: Any) -> dict[str, Any]:
        body = {"schemas": [GROUP_URN], "displayName": name,
                "members": [{"value": m} for m in members], **extra}  # fmt: skip
        result = self.post("/Groups", body)
        assert result.status_code == 201, result.text
        return result.json


@pytest.fixture
def scim(app: falcon.App, token: str) -> Scim:
    return Scim(app, token)


def assert_scim_error(
    result: falcon.testing.Result, status: int, scim_type: str | None = None
) -> dict[str, Any]:
    """The response is a SCIM error body with this status (and scimType), nothing more."""
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == SCIM_JSON
    body = result.json
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and body["detail"]
    if scim_type is None:
        assert "scimType" not in body, body
    else:
        assert body.get("scimType") == scim_type, body
    assert "Traceback" not in result.text
    return body


def patch_op(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(ops)}
