"""Every failure leaves the API as a SCIM error body (RFC 7644 §3.12).

Three sources are translated here and nowhere else: protocol errors raised by the pure core
(``ScimError``), use-case errors from the store (``store.errors``), and Falcon's own HTTP
errors (unknown route, wrong method, malformed JSON...). Anything else is a bug: it is logged
server-side with its traceback and the client gets a bare 500 without details. This module
decides statuses and bodies only; it never looks at the database.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from api.media import SCIM_MEDIA_TYPE
from api.scim.errors import ScimError
from store import errors as store_errors
from store.domain.display import safe_text

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_AFTER = 2
"""Seconds a client is asked to wait after a 503 (database busy or unreachable)."""

_MALFORMED_BODY = (falcon.MediaMalformedError, falcon.MediaNotFoundError)


def write_error(
    req: falcon.Request, resp: falcon.Response, status: int, scim_type: str | None, detail: str
) -> None:
    """Render one SCIM error and remember it for the request log. The detail ends with the
    request id, which also goes out as the ``X-Request-Id`` header: strict clients validate
    error bodies against RFC 7644 §3.12 (no extra members), so the id rides in ``detail``."""
    request_id = req.context.get("request_id")
    shown = f"{detail} (request id {request_id})" if request_id else detail
    body = ScimError(status, scim_type, shown).to_body()
    resp.status = status
    resp.content_type = SCIM_MEDIA_TYPE
    # ASCII-escaped: a detail that quotes hostile input can never fail to encode.
    resp.data = json.dumps(body, separators=(",", ":")).encode("ascii")
    req.context.scim_type = scim_type or ""
    req.context.error_detail = detail


def _falcon_detail(exc: falcon.HTTPError) -> str:
    if isinstance(exc, falcon.HTTPRouteNotFound | falcon.HTTPNotFound) and not exc.description:
        return "No such resource or endpoint"
    if isinstance(exc, falcon.HTTPMethodNotAllowed):
        return "This method is not allowed on this endpoint"
    if isinstance(exc, falcon.MediaNotFoundError):
        return "The request body is empty; a JSON object is required"
    if isinstance(exc, falcon.MediaMalformedError):
        return "The request body is not valid JSON"
    return str(exc.description or exc.title or "Request failed")


def serialize_http_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's error serializer: its own errors (404, 405, 415, bad JSON) in SCIM form."""
    scim_type = "invalidSyntax" if isinstance(exc, _MALFORMED_BODY) else None
    if exc.status_code == 400 and scim_type is None:
        scim_type = "invalidValue"  # bad header values and the like
    write_error(req, resp, exc.status_code, scim_type, _falcon_detail(exc))


def handle_scim_error(req: falcon.Request, resp: falcon.Response, ex: ScimError, _: Any) -> None:
    write_error(req, resp, int(ex.status), ex.scim_type, ex.detail)
    for name, value in getattr(ex, "headers", {}).items():
        resp.set_header(name, value)
    reason = getattr(ex, "reason", "")
    if reason:  # why authentication failed, for the operator's log only
        req.context.error_detail = f"{ex.detail} ({reason})"


def handle_store_error(
    req: falcon.Request, resp: falcon.Response, ex: store_errors.StoreError, _: Any
) -> None:
    if isinstance(ex, store_errors.NotFound):
        write_error(req, resp, 404, None, ex.message)
    elif isinstance(ex, store_errors.Conflict):
        write_error(req, resp, 409, "uniqueness", ex.message)
    elif isinstance(ex, store_errors.Revoked):  # the token's connection went mid-request
        write_error(req, resp, 401, None, ex.message)
        resp.set_header("WWW-Authenticate", 'Bearer realm="scim", error="invalid_token"')
    elif isinstance(ex, store_errors.PreconditionFailed):
        write_error(req, resp, 412, None, ex.message)
    elif isinstance(ex, store_errors.Unavailable):
        write_error(req, resp, 503, None, ex.message)
        resp.set_header("Retry-After", str(UNAVAILABLE_RETRY_AFTER))
    elif isinstance(ex, store_errors.InvalidInput) and ex.attribute == "filter":
        write_error(req, resp, 400, "invalidFilter", ex.message)  # e.g. too many comparisons
    else:  # InvalidInput and any future rule violation are the client's to fix
        write_error(req, resp, 400, "invalidValue", ex.message)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, _: Any) -> None:
    # A bug, never the client's fault: full details stay in the server log only.
    log.error(
        "unexpected %s on %s %s",
        type(ex).__name__,
        safe_text(req.method),
        safe_text(req.path),
        exc_info=ex,
    )
    write_error(req, resp, 500, None, "Internal server error")


def register_error_handlers(app: falcon.App) -> None:
    app.set_error_serializer(serialize_http_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(store_errors.StoreError, handle_store_error)
    app.add_error_handler(ScimError, handle_scim_error)
