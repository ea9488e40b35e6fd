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

from pony.orm import db_session
from pony.orm.core import (
    CommitException,
    OptimisticCheckError,
    RollbackException,
    TransactionIntegrityError,
    UnexpectedError,
    UnrepeatableReadError,
    local,
)
from pony.orm.dbapiprovider import DatabaseError, IntegrityError, InterfaceError, OperationalError

from store.errors import Conflict, Unavailable

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


def _waited_for_lock(exc: BaseException) -> bool:
    """SQLite already waited its whole busy timeout before saying "locked": retrying would
    multiply the wait past the configured ``busy_timeout_ms``, so give up at once."""
    seen: list[BaseException] = [exc]
    seen += [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    seen += [c for c in (getattr(exc, "original_exc", None), exc.__cause__, exc.__context__) if c]
    return any("database is locked" in str(e) for e in seen)


class _OutageLog:
    """One warning when the database stops answering and one line when it answers again,
    whatever the number of failed transactions in between (an outage must not flood the
    log of an API or worker process)."""

    def __init__(self) -> None:
        self.active = False
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            first, self.active = not self.active, True
        if first:
            log.warning("database unavailable: %s", type(exc).__name__)
        else:
            log.debug("database still unavailable: %s", type(exc).__name__)

    def answered(self) -> None:
        if self.active:  # a plain read on the hot path; the lock only on a change
            with self._lock:
                ended, self.active = self.active, False
            if ended:
                log.info("database answering again")


_outage = _OutageLog()


def in_transaction() -> bool:
    return local.db_session is not None


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
                _outage.answered()
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
                elif _is_unavailable(exc) or isinstance(exc, CommitException):
                    if last or _waited_for_lock(exc):
                        _outage.failed(exc)
                        raise Unavailable("the database is busy or unreachable") from None
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
            if _is_unavailable(exc):
                _outage.failed(exc)
                raise Unavailable("the database is busy or unreachable") from None
            raise

    return wrapper
