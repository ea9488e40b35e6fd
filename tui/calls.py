"""Running store use cases from thread workers without ever showing a traceback.

``store_call`` wraps the body of a ``@work(thread=True)`` method: store errors become a
``StoreCallFailed`` message (the app turns it into an error notification), anything else is
logged and reported the same way, and the worker thread's database connection is closed at
the end. It never touches widgets itself: widgets are only changed on the UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from textual.message_pump import MessagePump

from store.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    StoreError,
    Unavailable,
)
from tui.context import TuiContext
from tui.messages import StoreCallFailed

log = logging.getLogger(__name__)

_KINDS: tuple[tuple[type[StoreError], str], ...] = (
    (Unavailable, "Unavailable"),
    (Conflict, "Conflict"),
    (InvalidInput, "Invalid input"),
    (NotFound, "Not found"),
    (PreconditionFailed, "Changed meanwhile"),
)


def error_kind(exc: StoreError) -> str:
    for cls, kind in _KINDS:
        if isinstance(exc, cls):
            return kind
    return "Error"


@contextmanager
def store_call(ctx: TuiContext, target: MessagePump, what: str) -> Iterator[None]:
    """Run the block; report failures to ``target`` (normally the app) as messages."""
    try:
        yield
    except StoreError as exc:
        target.post_message(StoreCallFailed(what, error_kind(exc), exc.message))
    except Exception as exc:  # a bug must not kill the operator's session
        log.exception("%s failed", what)
        target.post_message(StoreCallFailed(what, "Unexpected error", type(exc).__name__))
    finally:
        try:
            ctx.release_connection()
        except Exception:  # closing a dead connection is not worth a notification
            log.debug("closing the worker's connection failed", exc_info=True)
