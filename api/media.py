"""JSON in and out of the API: the one media handler for ``application/scim+json`` and
``application/json``.

Parsing is strict where lenient parsing would let garbage through (``NaN``/``Infinity``,
nesting deep enough to exhaust the parser's recursion) and every failure becomes Falcon's
``MediaMalformedError`` so the client gets 400 ``invalidSyntax``, never a 500. This module
knows nothing about SCIM resources.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from falcon import media

SCIM_MEDIA_TYPE = "application/scim+json"
JSON_MEDIA_TYPE = "application/json"
ACCEPTED_MEDIA_TYPES = (SCIM_MEDIA_TYPE, JSON_MEDIA_TYPE)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str) -> Any:
    """``json.loads`` that refuses non-standard constants and survives hostile nesting."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def json_handler() -> media.JSONHandler:
    return media.JSONHandler(dumps=dumps, loads=loads)


def media_type_of(content_type: str | None) -> str:
    """The bare, lower-cased media type of a Content-Type header ('' when absent)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()
