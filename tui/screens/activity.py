"""The request log as the SCIM Provisioning panel shows it: one row per request (or per run
of identical refusals) with the IdP connection and token that sent it, the filters the
operator set, and the full text of one entry.

Pure helpers of records and the current time; the panel owns the widgets and the loading.
Every field that came from a client goes through ``tui.format.shown``.
"""

from __future__ import annotations

from datetime import datetime

from store.domain.activity_filters import StatusRange, parse_status
from store.queries.activity import ERRORS, ActivityFilter, ActivityRun
from store.records import ActivityRecord
from tui.format import activity_time, http_status, run_status, shown
from tui.widgets.fitted_table import ColumnSpec

ACTIVITY_COLUMNS = (
    ColumnSpec("at", "Time", 8),
    ColumnSpec("connection", "Conn.", 6, 1),
    ColumnSpec("token", "Token", 6, 2),
    ColumnSpec("method", "Method", 6),
    ColumnSpec("path", "Path", 8, 4),
    ColumnSpec("status", "Status", 15, 2),
    ColumnSpec("client", "Client", 8, 1),
    ColumnSpec("agent", "User-Agent", 5, 2),
)
STATUS_FILTERS: tuple[tuple[str, StatusRange | None], ...] = (
    ("", None),
    ("error", ERRORS),
    ("4xx", parse_status("4xx")),
    ("5xx", parse_status("5xx")),
    ("2xx", parse_status("2xx")),
)
"""What ``f`` cycles through in the activity filter (the first is "any status")."""


def next_status(current: StatusRange | None) -> StatusRange | None:
    """The status filter after ``current`` in ``STATUS_FILTERS`` (round and round)."""
    ranges = [r for _, r in STATUS_FILTERS]
    index = ranges.index(current) if current in ranges else 0
    return ranges[(index + 1) % len(ranges)]


def _status_name(wanted: StatusRange) -> str:
    for name, status in STATUS_FILTERS:
        if status == wanted:
            return name
    return str(wanted.low) if wanted.low == wanted.high else f"{wanted.low}-{wanted.high}"


def activity_cells(run: ActivityRun, now: datetime) -> tuple[str, ...]:
    a = run.record
    return (  # FittedTable renders every cell through the terminal sanitiser
        activity_time(a.at, now),
        a.connection or "-",
        a.token_name or "-",
        a.method,
        a.path,
        run_status(a.status, run.count, run.seconds, run.bounded),
        a.client or "-",
        a.user_agent or "-",
    )


def activity_detail(run: ActivityRun) -> str:
    """Everything logged about one request (or run of refusals), in full, for the detail
    screen: the request line, the complete filter, the whole error, client and agent."""
    a = run.record
    lines = [
        f"{a.method} {a.path}" + (f"?filter={a.query}" if a.query else ""),
        f"Status: {http_status(a.status)}" + (f" · scimType {a.scim_type}" if a.scim_type else ""),
        f"Time: {a.at:%Y-%m-%d %H:%M:%S} UTC · {a.latency_ms:.0f} ms",
    ]
    if run.count > 1:
        oldest = run.oldest or a.at
        lines.append(f"Repeated: {run.count}× since {oldest:%H:%M:%S} ({run.seconds:.0f} s)")
    lines.append(f"Connection: {a.connection or '-'} · Token: {a.token_name or '-'}")
    lines.append(f"Client: {a.client or '-'}")
    lines.append(f"User-Agent: {a.user_agent or '-'}")
    if a.query:
        lines += ["", "Filter:", a.query]
    if a.detail:
        lines += ["", "Error:", a.detail]
    return "\n".join(shown(line) for line in lines)


def activity_summary(record: ActivityRecord | None) -> str:
    """The one line under the table about the highlighted entry."""
    if record is None:
        return "No provisioning requests match."
    if record.detail or record.query:
        return shown(
            f"{record.scim_type or http_status(record.status)}: {record.detail or record.query}"
        )
    return shown(f"{record.method} {record.path}") + " · Enter: full detail"


def filter_label(wanted: ActivityFilter) -> str:
    """What the activity list is narrowed to, e.g. "status 4xx · connection Okta"."""
    parts = []
    if wanted.status is not None:
        parts.append(f"status {_status_name(wanted.status)}")
    if wanted.connection:
        parts.append(f"connection {shown(wanted.connection)}")
    if wanted.token:
        parts.append(f"token {shown(wanted.token)}")
    if wanted.text:
        parts.append(f"text “{shown(wanted.text)}”")
    return " · ".join(parts) or "all requests"
