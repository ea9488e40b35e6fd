"""Plain-text formatting of store records for the operator UI: relative times, role sources,
status words with markers, HTTP statuses with their text.

Pure functions of their arguments (the current time is passed in), so snapshots stay stable.
No Textual and no store access here. ``shown`` is the terminal sanitiser
(``store.domain.display.safe_text``) under the name the screens use: every line the UI builds
from outside text (IdP data, request-log fields, audit details) goes through it once, table
cells through ``FittedTable``, and widgets show the result as plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from store.domain.active import describe
from store.domain.display import safe_text
from store.domain.enums import GrantSource
from store.domain.roles import OPERATOR_SOURCES
from store.records import RoleSource

if TYPE_CHECKING:
    from store.queries.groups import GroupMatch

STATUS_MARKERS = {
    "active": "●",
    "inactive": "○",
    "revoked": "✕",
    "stale": "!",
    "deleted": "✕",
    "unassigned": "◌",
    "no tokens": "◌",
}
"""Every status word carries its own marker, so statuses differ without colour too."""


shown = safe_text
"""Outside text made safe to show (the one terminal sanitiser). Table cells need not call it:
``FittedTable`` renders every cell through it already (calling it twice would double the
backslash of an escape)."""


def status_label(word: str) -> str:
    """ "● active", "○ inactive", "✕ revoked": a marker and the word."""
    marker = STATUS_MARKERS.get(word)
    return f"{marker} {word}" if marker else word


def http_status(code: int) -> str:
    """ "401 Unauthorized", "429 Too Many Requests"; the bare code when unknown."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


_UNITS = ((86_400, "d"), (3_600, "h"), (60, "min"))


def relative(when: datetime | None, now: datetime, never: str = "never") -> str:
    """ "3 min ago", "2 h ago", "5 d ago", "just now"; ``never`` for None; a date when old."""
    if when is None:
        return never
    seconds = (_aware(now) - _aware(when)).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds >= 60 * 86_400:
        return _aware(when).strftime("%Y-%m-%d")
    for size, unit in _UNITS:
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"  # pragma: no cover - the loop always returns for seconds >= 60


def timestamp(when: datetime | None) -> str:
    """A compact UTC timestamp, e.g. "2026-01-05 09:00"."""
    return "" if when is None else _aware(when).strftime("%Y-%m-%d %H:%M")


def role_label(role: str, source: str, via_group: str | None) -> str:
    """ "admin (manual)" or "viewer (IdP: Engineering)"."""
    if source in OPERATOR_SOURCES:
        return f"{role} ({source})"
    return f"{role} (IdP: {via_group})" if via_group else f"{role} (IdP)"


def roles_summary(roles: Iterable[RoleSource]) -> str:
    """One short cell for a user row, manual grants first: "admin·manual,
    viewer·IdP:Engineering" (the group the role comes from); "-" when none."""
    ordered = sorted(
        roles, key=lambda r: (r.source != GrantSource.MANUAL, r.role, r.via_group or "")
    )
    parts = [
        f"{r.role}·{r.source}"
        if r.source != GrantSource.IDP
        else f"{r.role}·IdP:{r.via_group or '?'}"
        for r in ordered
    ]
    return ", ".join(dict.fromkeys(parts)) or "-"


def status_word(active: bool | None) -> str:
    """The user status cell: "● active", "○ inactive", or "◌ unassigned" (an IdP removed
    ``active``: no access either)."""
    return status_label(describe(active))


def audit_change(before: Any, after: Any) -> str:
    """An audit event's before/after as short text: "role: admin", "active: True -> False"."""
    if isinstance(before, dict) or isinstance(after, dict):
        old, new = before or {}, after or {}
        parts = []
        for key in dict.fromkeys([*old, *new]):
            if key in old and key in new and old[key] != new[key]:
                parts.append(f"{key}: {_plain(old[key])} -> {_plain(new[key])}")
            elif key not in old or key not in new or before is None or after is None:
                parts.append(f"{key}: {_plain(new.get(key, old.get(key)))}")
        return ", ".join(parts)
    if before is None and after is None:
        return ""
    if before is None:
        return _plain(after)
    return f"{_plain(before)} -> {_plain(after)}"


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return "-" if value is None else str(value)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def activity_time(when: datetime, now: datetime) -> str:
    """ "09:41:07" for today's entries, "01-04 17:02" for older ones (UTC)."""
    when, now = _aware(when), _aware(now)
    if when.date() == now.date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%m-%d %H:%M")


def run_status(status: int, count: int, seconds: float, bounded: bool = False) -> str:
    """ "401 Unauthorized" for one entry, "14× 429 in 20 s" for a run of refusals, and
    "75× 401 within 42 s" when the log kept them folded (the span is an upper bound)."""
    if count <= 1:
        return http_status(status)
    return f"{count}× {status} {'within' if bounded else 'in'} {seconds:.0f} s"


def matches_text(found: Iterable[GroupMatch], connection: str | None) -> str:
    """Which groups a mapping row matches, as one sentence for its preview: "It matches in
    any connection: “Engineering” of Okta (2 member(s))." (names escaped)."""
    where = "any connection" if connection is None else f"connection “{shown(connection)}”"
    parts = [
        f"“{shown(m.display_name)}” of {shown(m.connection)} ({m.member_count:,} member(s))"
        for m in found
    ]
    if not parts:
        return f"It matches no group yet in {where}."
    return f"It matches in {where}: {', '.join(parts)}."
