"""The service log: one handler on stderr, text or JSON lines, UTC ISO 8601 timestamps.

``[logging] format = "text"`` gives ``2026-01-31T12:00:00.123Z INFO name [request id]:
message``; ``"json"`` one object per line with ``time``, ``level``, ``logger``, ``message``,
``request_id`` (when the line belongs to an HTTP request) and ``exception``. Timestamps are
always UTC with a ``Z``, like every date the CLI, TUI and API show. Configured once by the
``trident-scim`` entry point; nothing here decides what is logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from api.request_id import RequestIdFilter
from store.config import Settings
from store.domain.display import escape_unsafe

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_part)s: %(message)s"


def utc_timestamp(created: float) -> str:
    """``2026-01-31T12:00:00.123Z`` for a record's ``created`` time."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z"


class UtcTextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return utc_timestamp(record.created)

    def format(self, record: logging.LogRecord) -> str:
        """One line per record, whatever text reached the message: a control character
        (an IdP's name inside an exception, say) is shown escaped, and a line break cannot
        start a line of its own. A traceback follows on lines indented by four spaces, so
        none of them can pass for a record of its own."""
        request_id = getattr(record, "request_id", "")
        record.request_part = f" [{request_id}]" if request_id else ""
        record.message = escape_unsafe(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        if record.exc_info:
            details = escape_unsafe(self.formatException(record.exc_info), keep_newlines=True)
            line += "".join(f"\n    {part}" for part in details.splitlines())
        if record.stack_info:
            stack = escape_unsafe(self.formatStack(record.stack_info), keep_newlines=True)
            line += "".join(f"\n    {part}" for part in stack.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


def make_handler(settings: Settings, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    json_lines = settings.logging.format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else UtcTextFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(settings: Settings) -> None:
    """Install the configured handler on the root logger (idempotent). Like
    ``logging.basicConfig``, leave a root logger that something else (an embedding program, a
    test harness) has already given handlers alone."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "trident_scim", False)]
    if len(ours) != len(root.handlers):
        return
    for old in ours:
        root.removeHandler(old)
    handler = make_handler(settings)
    handler.trident_scim = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(getattr(logging, settings.logging.level.upper(), logging.INFO))
