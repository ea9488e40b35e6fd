"""Request gates that run before any responder, and the per-request activity record.

``CanonicalPath`` re-spells differently-cased endpoint names; ``BodyLimit`` refuses oversized
bodies (413) by their declared length and also caps what is actually read from the stream;
``JsonContentType`` refuses non-JSON bodies (415); ``RequestActivity`` times each SCIM request
and hands one ``ActivityInput`` to the recorder. Nothing here reads or records secrets: the
Authorization header and request bodies never reach the activity log.
"""

from __future__ import annotations

import time
from typing import Any, BinaryIO

import falcon

from api.activity import ActivityRecorder
from api.client import request_client
from api.media import ACCEPTED_MEDIA_TYPES, media_type_of
from api.scim.endpoints import BASE_PATH, canonical_path
from api.scim.errors import ScimError
from store.context import Store
from store.domain import limits
from store.records import ActivityInput

SCIM_PREFIX = BASE_PATH
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_scim_path(path: str) -> bool:
    return path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/")


def too_large(limit: int) -> ScimError:
    return ScimError(413, None, f"The request body exceeds the limit of {limit} bytes")


class _LimitedInput:
    """Wraps wsgi.input so that no more than ``limit`` bytes are ever accepted from it."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        want = self._limit + 1 - self._read if size is None or size < 0 else size
        data = self._stream.read(min(want, self._limit + 1 - self._read))
        self._read += len(data)
        if self._read > self._limit:
            raise too_large(self._limit)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class CanonicalPath:
    """Routes ``/scim/v2/users`` and other differently-cased endpoint names as the canonical
    ones. First of the gates, so authentication and routing see one spelling only."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        canonical = canonical_path(req.path)
        if canonical != req.path:
            req.path = canonical


class BodyLimit:
    def __init__(self, max_body_bytes: int) -> None:
        self._limit = max_body_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        length = req.content_length
        if length is not None and length > self._limit:
            raise too_large(self._limit)
        if "wsgi.input" in req.env:
            req.env["wsgi.input"] = _LimitedInput(req.env["wsgi.input"], self._limit)


class JsonContentType:
    """POST, PUT and PATCH bodies must be JSON; the media type is matched case-insensitively
    and normalised so that ``Application/JSON; charset=UTF-8`` parses like ``application/json``."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.method not in BODY_METHODS:
            return
        media_type = media_type_of(req.content_type)
        if not media_type:
            return  # tolerated: parsed as SCIM JSON, as most IdP clients mean it
        if media_type not in ACCEPTED_MEDIA_TYPES:
            raise ScimError(415, None, f"Content-Type must be {' or '.join(ACCEPTED_MEDIA_TYPES)}")
        req.content_type = media_type


class RequestActivity:
    """Times every SCIM request and records who called what with which outcome."""

    def __init__(self, store: Store, recorder: ActivityRecorder | None) -> None:
        self._store = store
        self._recorder = recorder

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        req.context.token_id = None
        req.context.token_name = ""
        req.context.connection = ""
        req.context.scim_type = ""
        req.context.error_detail = ""
        req.context.filter = ""
        req.context.client = None  # BearerAuth names it (under the same proxy settings)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if self._recorder is None or not is_scim_path(req.path):
            return
        ctx = req.context
        started = float(ctx.get("started") or time.perf_counter())
        self._recorder.record(
            ActivityInput(
                at=self._store.clock(),
                method=req.method[:16],
                path=req.path[: limits.REQUEST_PATH],
                status=resp.status_code,
                latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
                token_id=ctx.get("token_id"),
                token_name=ctx.get("token_name") or "",
                connection=ctx.get("connection") or "",
                client=ctx.get("client") or request_client(req, self._store),
                query=(ctx.get("filter") or req.get_param("filter") or "")[: limits.REQUEST_QUERY],
                scim_type=ctx.get("scim_type") or "",
                detail=(ctx.get("error_detail") or "")[: limits.DETAIL],
                user_agent=(req.user_agent or "")[: limits.USER_AGENT],
            )
        )
