"""Bearer-token authentication of every ``/scim/v2`` request.

The token check, its rate limit and the per-address limit on failed attempts all live in
``store.services.tokens.authenticate``; this edge only turns the outcome into 401 (with
``WWW-Authenticate``) or 429 (with ``Retry-After``), names the audit actor
``token:<name>`` and puts the token's connection (``Scope``) on the request context: every
responder reads and changes users and groups within it. The Authorization header is never
logged or stored.
"""

from __future__ import annotations

import logging
import math

import falcon

from api.client import forwarded_unheeded, request_client
from api.metrics import ApiMetrics
from api.middleware import is_scim_path
from api.scim.errors import ScimError
from store.context import Store
from store.domain.display import safe_field
from store.domain.scope import of_connection
from store.services.tokens import authenticate

log = logging.getLogger(__name__)

INVALID_TOKEN = "Invalid or revoked token"  # noqa: S105  (a message, not a secret)
RATE_LIMITED = "Too many requests for this token; retry after the time in Retry-After"
AUTH_RATE_LIMITED = (
    "Too many failed authentication attempts from this address: every request from it is "
    "refused, valid tokens included, until the time in Retry-After has passed"
)


class ScimAuthError(ScimError):
    """A ScimError that also carries the response headers it needs."""

    def __init__(self, status: int, detail: str, headers: dict[str, str], reason: str) -> None:
        super().__init__(status, None, detail)
        self.headers = headers
        self.reason = reason  # for the operator's request log, never sent to the client


def retry_after_seconds(seconds: float) -> int:
    """Retry-After is a whole number of seconds, never 0 (a client would hammer us)."""
    return max(1, math.ceil(seconds))


class BearerAuth:
    def __init__(self, store: Store, metrics: ApiMetrics | None = None) -> None:
        self._store = store
        self._metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not is_scim_path(req.path):
            return
        client = req.context.client = request_client(req, self._store)  # the request log's too
        result = authenticate(self._store, req.get_header("Authorization"), client)
        req.context.connection = result.connection_name
        if result.ok and result.connection_id is not None:
            req.context.token_id = result.token_id
            req.context.token_name = result.token_name or ""
            req.context.actor = f"token:{result.token_name}"
            req.context.scope = of_connection(result.connection_id)
            return
        if result.locked and forwarded_unheeded(req, self._store):
            log.warning(
                "requests from %s carry X-Forwarded-For, but that peer is not in [api] "
                "trusted_proxies: every client behind it shares one failed-authentication "
                "limit; list the proxy there (README, 'Client addresses')",
                safe_field(result.address),
            )
        if self._metrics is not None:
            self._metrics.auth_refused(result.reason, result.token_name or "")
        if result.reason == "rate_limited":
            wait = str(retry_after_seconds(result.retry_after))
            detail = RATE_LIMITED if result.token_id is not None else AUTH_RATE_LIMITED
            req.context.token_id = result.token_id
            req.context.token_name = result.token_name or result.presented
            raise ScimAuthError(429, detail, {"Retry-After": wait}, result.reason)
        req.context.token_name = result.presented  # names a refused token, never its secret
        challenge = 'Bearer realm="scim"'
        if result.reason != "missing":
            challenge += ', error="invalid_token"'
        raise ScimAuthError(401, INVALID_TOKEN, {"WWW-Authenticate": challenge}, result.reason)
