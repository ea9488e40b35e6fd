"""Transactions: one use case = one database transaction, retried on benign races.

``@transaction`` opens a Pony db_session around a use case (or joins the caller's), retries
optimistic-check and unique-key races a few times, and turns a locked or unreachable
database into ``Unavailable`` so the edges answer 503 instead of a traceback.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pony.orm import (
    CommitException,
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    OptimisticCheckError,
    RollbackException,
    TransactionIntegrityError,
    UnexpectedError,
    UnrepeatableReadError,
    db_session,
)

from store.errors import Conflict, Unavailable
from store.sql import in_db_session

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

RETRIES = 8
_RACES = (OptimisticCheckError, UnrepeatableReadError)


def _is_integrity(exc: BaseException) -> bool:
    if isinstance(exc, TransactionIntegrityError | IntegrityError):
        return True
    cause = getattr(exc, "original_exc", None) or exc.__cause__
    return isinstance(cause, TransactionIntegrityError | IntegrityError)


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    cause = getattr(exc, "original_exc", None) or exc.__cause__
    if isinstance(exc, UnexpectedError):
        # Pony reports a failed INSERT (e.g. the connection dropped) as UnexpectedError with
        # the driver's error as an argument and no __cause__.
        cause = next((a for a in exc.args if isinstance(a, BaseException)), exc.__context__)
    return isinstance(cause, OperationalError | InterfaceError)


def _refused(exc: BaseException) -> bool:
    """A full disk or a read-only database: retrying cannot help, and it is no bug."""
    return fault_cause(exc) in ("disk full", "read-only")


def _waited_for_lock(exc: BaseException) -> bool:
    """SQLite already waited its whole busy timeout before saying "locked": retrying would
    multiply the wait past the configured ``busy_timeout_ms``, so give up at once."""
    seen: list[BaseException] = [exc]
    seen += [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    seen += [c for c in (getattr(exc, "original_exc", None), exc.__cause__, exc.__context__) if c]
    return any("database is locked" in str(e) for e in seen)


_CAUSES = (
    ("disk full", ("database or disk is full", "no space left on device", "could not extend")),
    ("read-only", ("readonly database", "read-only transaction", "read-only file system")),
    ("locked", ("database is locked",)),
)
_PG_CAUSES = {"53100": "disk full", "25006": "read-only"}  # disk_full, read_only_sql_transaction


def fault_cause(exc: BaseException) -> str:
    """Why the database refused: "disk full", "read-only", "locked" or "unreachable", read
    from the driver's error however Pony wrapped it (``CommitException`` alone says nothing)."""
    seen: list[BaseException] = [exc]
    for _ in range(4):  # the driver's error sits a few wrappers deep
        found = [getattr(e, "original_exc", None) for e in seen]
        found += [e.__cause__ for e in seen] + [e.__context__ for e in seen]
        found += [a for e in seen for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
        seen += [e for e in found if e is not None and e not in seen]
    for error in seen:
        cause = _PG_CAUSES.get(str(getattr(error, "pgcode", "") or ""))
        if cause:
            return cause
    text = " ".join(str(e) for e in seen).lower()
    return next((cause for cause, marks in _CAUSES if any(m in text for m in marks)), "unreachable")


class _OutageLog:
    """One warning when the database stops answering and one line when it answers again,
    whatever the number of failed transactions in between (an outage must not flood the
    log of an API or worker process). The warning names the cause ("disk full"). A write
    refused for a full disk or a read-only database is also remembered until a write
    transaction succeeds again, for ``/healthz`` (reads may still succeed meanwhile)."""

    def __init__(self) -> None:
        self.active = False
        self.write_fault = ""
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> str:
        cause = fault_cause(exc)
        with self._lock:
            first, self.active = not self.active, True
            if cause in ("disk full", "read-only"):
                self.write_fault = cause
        level = logging.WARNING if first else logging.DEBUG
        log.log(level, "database unavailable: %s (%s)", cause, type(exc).__name__)
        return cause

    def answered(self, wrote: bool = False) -> None:
        if self.write_fault:
            if not wrote:
                return  # reads answer on a full disk: the outage is not over
            with self._lock:
                self.write_fault = ""
        if self.active:  # a plain read on the hot path; the lock only on a change
            with self._lock:
                ended, self.active = self.active, False
            if ended:
                log.info("database answering again")


_outage = _OutageLog()


def report_fault(exc: BaseException) -> str:
    """Log (once per outage) and return why the database refused ``exc``'s work."""
    return _outage.failed(exc)


def recent_write_fault() -> str:
    """ "disk full" or "read-only" while the last write failed for it; "" otherwise."""
    return _outage.write_fault


def in_transaction() -> bool:
    return in_db_session()


def transaction(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` in its own db_session, or inside the caller's when one is open."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if in_transaction():
            return fn(*args, **kwargs)
        delay = 0.005
        for attempt in range(RETRIES):
            last = attempt == RETRIES - 1
            try:
                with db_session:
                    result = fn(*args, **kwargs)
                _outage.answered(wrote=True)
                return result
            except _RACES:
                if last:
                    raise Unavailable("the record changed concurrently; try again") from None
            except (
                CommitException,
                RollbackException,
                DatabaseError,
                InterfaceError,
                TransactionIntegrityError,
                UnexpectedError,
            ) as exc:
                if _is_integrity(exc):
                    if last:
                        raise Conflict(
                            "a concurrent change claimed the same unique value"
                        ) from None
                elif _is_unavailable(exc) or isinstance(exc, CommitException) or _refused(exc):
                    if last or _waited_for_lock(exc) or _refused(exc):
                        cause = _outage.failed(exc)
                        raise Unavailable("the database is busy or unreachable", cause) from None
                else:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        raise Unavailable("the database is busy or unreachable")  # pragma: no cover

    return wrapper


def read(fn: Callable[P, R]) -> Callable[P, R]:
    """A read-only use case: its own db_session, database faults become ``Unavailable``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if in_transaction():
            return fn(*args, **kwargs)
        try:
            with db_session:
                result = fn(*args, **kwargs)
            _outage.answered()
            return result
        except (DatabaseError, InterfaceError) as exc:
            if _is_unavailable(exc) or _refused(exc):
                cause = _outage.failed(exc)
                raise Unavailable("the database is busy or unreachable", cause) from None
            raise

    return wrapper
