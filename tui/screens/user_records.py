"""How the user detail shows its records: role, session and audit rows, and the full text
of one audit event. Pure functions of records and the current time; every text that came
from outside goes through ``tui.format.shown``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from store.domain.clients import address_label
from store.domain.enums import GrantSource
from store.records import AuditRecord, RoleAssignmentRecord, SessionRecord, UserDetail
from tui.format import audit_change, relative, shown, status_word, timestamp
from tui.widgets.fitted_table import ColumnSpec

ROLE_COLUMNS = (
    ColumnSpec("role", "Role", 10, 2),
    ColumnSpec("source", "Source", 7),
    ColumnSpec("via", "Via IdP group", 14, 3),
    ColumnSpec("by", "Granted by", 12, 2),
    ColumnSpec("since", "Since", 16),
)
SESSION_COLUMNS = (
    ColumnSpec("id", "Session", 7),
    ColumnSpec("started", "Started", 16),
    ColumnSpec("seen", "Last seen", 10),
    ColumnSpec("expires", "Expires", 16),
    ColumnSpec("address", "Address", 15, 1),
)
SESSIONS_NOTE = "No valid session."
UNKNOWN_SOURCE = " (never given by Control's sign-in or a trusted proxy)"
AUDIT_COLUMNS = (
    ColumnSpec("at", "When", 16),
    ColumnSpec("actor", "Actor", 12, 2),
    ColumnSpec("action", "Action", 14, 1),
    ColumnSpec("detail", "Detail", 12, 4),
)


def role_row(r: RoleAssignmentRecord) -> tuple[str, tuple[str, ...]]:
    return (  # FittedTable renders every cell through the terminal sanitiser
        f"{r.role}\0{r.source}\0{r.via_group or ''}",
        (
            r.role,
            "IdP"
            if r.source == GrantSource.IDP
            else r.source,  # manual, or suspended after a rename
            r.via_group or "-",
            r.granted_by,
            timestamp(r.created),
        ),
    )


def session_row(s: SessionRecord, now: datetime) -> tuple[str, tuple[str, ...]]:
    return (  # FittedTable renders every cell through the terminal sanitiser
        str(s.id),
        (
            f"#{s.id}",
            timestamp(s.created),
            relative(s.last_seen, now),
            timestamp(s.expires_at),
            address_label(s.client_address),
        ),
    )


def session_note(s: SessionRecord | None) -> str:
    """The line under the sessions list: the selected session's whole address and
    User-Agent (at 80 columns the table has room for neither in full)."""
    if s is None:
        return SESSIONS_NOTE
    where = shown(address_label(s.client_address))
    where += "" if s.client_address else UNKNOWN_SOURCE
    agent = shown(s.user_agent) if s.user_agent else "unknown"
    return f"#{s.id} from {where} · User-Agent: {agent}"


def audit_row(e: AuditRecord) -> tuple[str, tuple[str, ...]]:
    return (
        str(e.id),
        (timestamp(e.at), e.actor, e.action, e.detail or audit_change(e.before, e.after)),
    )


def audit_text(e: AuditRecord) -> str:
    """One audit event in full: who, what, on which target, the reason or detail, and the
    complete before and after values."""
    lines = [
        f"When: {e.at:%Y-%m-%d %H:%M:%S} UTC",
        f"Actor: {e.actor}",
        f"Action: {e.action}",
        f"Target: {e.target_type} {e.target_id}" + (f" ({e.target_name})" if e.target_name else ""),
    ]
    if e.detail:
        lines.append(f"Detail: {e.detail}")
    lines += ["", "Before:", _json(e.before), "", "After:", _json(e.after)]
    return "\n".join(shown(line) if "\n" not in line else _lines(line) for line in lines)


def _json(value: Any) -> str:
    if value is None:
        return "-"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _lines(text: str) -> str:
    return "\n".join(shown(line) for line in text.split("\n"))


def summary_text(detail: UserDetail, now: Any) -> str:
    user = detail.user
    status = "✕ DELETED" if detail.deleted else status_word(user.active).upper()
    lines = [
        shown(user.user_name) + (f" — {shown(user.display_name)}" if user.display_name else ""),
        f"Status: {status} · last change {relative(user.last_modified, now)}"
        f" · active sessions: {detail.active_sessions}",
        f"id {shown(user.id)} · connection {shown(detail.connection)}"
        + (f" · externalId {shown(user.external_id)}" if user.external_id else ""),
    ]
    if detail.hold is not None:
        hold = detail.hold
        idp = {True: "active", False: "inactive", None: "nothing yet"}[hold.idp_active]
        lines.append(
            f"OPERATOR HOLD since {timestamp(hold.since)} by {shown(hold.by)}: "
            f"'{shown(hold.reason)}' · IdP says: {idp} · access off until reactivated here"
        )
    return "\n".join(lines)
