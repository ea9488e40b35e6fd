"""The request id: one per HTTP request, in its log lines, its ``X-Request-Id`` response
header and the detail of every SCIM error it gets.

A client (or the proxy in front) may send its own ``X-Request-Id`` so that its logs and ours
share one id; it is taken only when it matches ``ACCEPTED`` (letters, digits, ``.``, ``_``,
``:``, ``-``, 8 to 64 of them), so what lands in logs and headers is never control
characters, JSON or a log-injection payload. Anything else is replaced by a fresh id.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

import falcon

HEADER = "X-Request-Id"
ACCEPTED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")

current: ContextVar[str] = ContextVar("trident_scim_request_id", default="")
"""The id of the request this thread is serving ('' outside a request)."""


def choose(incoming: str | None) -> str:
    """The client's id when it is a sane one, else a new random one."""
    if incoming and ACCEPTED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestId:
    """Middleware, first of all: every later step, log line and error body can see the id."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        request_id = choose(req.get_header(HEADER))
        req.context.request_id = request_id
        req.context.request_id_token = current.set(request_id)
        resp.set_header(HEADER, request_id)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        token = req.context.get("request_id_token")
        if token is not None:
            current.reset(token)
            req.context.request_id_token = None


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record (``record.request_id``) unless the
    record already carries one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current.get()
        return True
