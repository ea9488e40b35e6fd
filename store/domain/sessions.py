"""When a Control session is valid: the one rule, and its SQL form (tested against it on both
backends).

A session is valid until it is ended, until its absolute lifetime ends (``now >=
expires_at``), until it has been idle for the idle timeout (``now - last_seen >= idle``, when
idle expiry is on), and only while its user is live (not deleted) and active (an inactive or
held user has ``active`` off). Pure: the time and the timeout are passed in; times are naive
UTC, the stored form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from store.domain.enums import SessionEnd

NEVER = datetime(1970, 1, 1)
"""The idle cut when idle expiry is off: no session was last seen before it."""


@dataclass(frozen=True)
class SessionState:
    """What decides whether a session is still valid."""

    ended_at: datetime | None
    expires_at: datetime
    last_seen: datetime
    user_deleted_at: datetime | None
    user_active: bool


def idle_timeout(minutes: int) -> timedelta | None:
    """None when idle expiry is switched off (``idle_timeout_minutes = 0``)."""
    return timedelta(minutes=minutes) if minutes > 0 else None


def idle_cut(now: datetime, idle: timedelta | None) -> datetime:
    """Sessions last seen at or before this are idle at ``now`` (``NEVER`` with no timeout)."""
    return now - idle if idle is not None else NEVER


def invalid_reason(
    state: SessionState, now: datetime, idle: timedelta | None
) -> SessionEnd | Literal[""]:
    """Why the session is no longer valid at ``now``, or "" while it is."""
    if state.ended_at is not None:
        return SessionEnd.ENDED
    if now >= state.expires_at:
        return SessionEnd.EXPIRED
    if idle is not None and state.last_seen <= now - idle:
        return SessionEnd.IDLE
    if state.user_deleted_at is not None:
        return SessionEnd.USER_DELETED
    if not state.user_active:
        return SessionEnd.USER_INACTIVE
    return ""


def sql_invalid(session: str, user: str, now: str, cut: str) -> str:
    """``invalid_reason(...) != ""`` in SQL: ``session`` and ``user`` are the aliases of
    ``control_session`` and its ``scim_user`` row, ``now`` and ``cut`` bound parameters with
    ``now`` and ``idle_cut(now, idle)``."""
    return (
        f'({session}."ended_at" IS NOT NULL OR {session}."expires_at" <= {now} '
        f'OR {session}."last_seen" <= {cut} OR {user}."deleted_at" IS NOT NULL '
        f'OR NOT {user}."active")'
    )
