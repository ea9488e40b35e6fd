"""A time budget for the database work of a client's query (``[limits] query_budget_ms``).

A SCIM filter within every length and term limit can still make the database scan and
compare for tens of seconds (199 ``emails co`` terms over 20,000 users took 26 s on SQLite).
Under the budget such a statement is stopped by the database itself, and the client gets
``TooCostly`` (400 invalidFilter, "too costly") instead of holding a connection, a thread
and, on SQLite, the reader's snapshot for as long as it likes.

* SQLite: a progress handler on every connection (``install_sqlite_handler``) checks this
  thread's deadline every few thousand virtual-machine steps and interrupts the statement.
* PostgreSQL: ``SET LOCAL statement_timeout`` sent in the same message as the statement
  (``postgres_prefix``), so it ends with the statement's transaction.

This module knows nothing of SCIM; it must never apply a budget to writes of the service's
own (a half-done write is rolled back, but the IdP would see a 400 for a change it sent).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from store.errors import InvalidInput

PROGRESS_STEPS = 100_000
"""SQLite virtual-machine steps between deadline checks: a few milliseconds of work, so the
overrun is small, and the check (which needs the GIL) seldom competes with other threads."""
TOO_COSTLY = "too costly: the filter needs more database time than the limit allows"
_local = threading.local()


class TooCostly(InvalidInput):
    """A client's query ran out of its time budget and was stopped by the database."""

    def __init__(self) -> None:
        super().__init__(TOO_COSTLY, attribute="filter")


def _over_budget() -> int:
    deadline = getattr(_local, "deadline", None)
    return 1 if deadline is not None and time.monotonic() > deadline else 0


def install_sqlite_handler(connection: sqlite3.Connection) -> None:
    """Let statements on this connection be interrupted when their thread's budget ends."""
    connection.set_progress_handler(_over_budget, PROGRESS_STEPS)


def postgres_prefix(budget_ms: int) -> str:
    """The statement that puts the budget on the rest of the message's transaction."""
    return f"SET LOCAL statement_timeout = {int(budget_ms)}; "


@contextmanager
def query_budget(budget_ms: int) -> Iterator[None]:
    """Run the block with this thread's statements limited to ``budget_ms`` in all; a
    statement stopped for it raises ``TooCostly``."""
    _local.deadline = time.monotonic() + budget_ms / 1000.0
    try:
        yield
    except Exception as exc:
        if _stopped_for_time(exc):
            raise TooCostly() from None
        raise
    finally:
        _local.deadline = None


def _stopped_for_time(exc: BaseException) -> bool:
    """SQLite's "interrupted" or PostgreSQL's query_canceled (57014), however Pony wrapped it."""
    seen: list[Any] = [exc, getattr(exc, "original_exc", None), exc.__cause__, exc.__context__]
    seen += [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    for error in (e for e in seen if e is not None):
        if getattr(error, "pgcode", None) == "57014" or "interrupted" in str(error):
            return True
    return False
