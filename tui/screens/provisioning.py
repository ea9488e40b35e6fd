"""The SCIM Provisioning panel: Base URL to copy, IdP connections with their tokens beneath
them (Last Used, stale, users and groups owned; create a connection, generate a token for
one, rotate, revoke), recent provisioning activity with errors first (filtered by status
class, connection or token, and text, identical refusals folded, Enter for an entry's full
text), and the worker's health.

Loads through store queries in thread workers and refreshes itself every few seconds. Token
secrets only pass through here on their way into ``SecretDialog``; nothing in this panel
keeps one. It never imports Pony and holds no product rule: a rotation is the store's
``rotate_token`` (a new token for the connection; the old one stays until revoked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Static

from store.domain.connections import KINDS
from store.domain.tokens import rotation_target
from store.queries.activity import (
    ActivityFilter,
    ActivityRun,
    collapse_refusals,
    recent_activity,
)
from store.queries.identity import notable_events
from store.queries.jobs import worker_health
from store.records import AuditRecord, ConnectionRecord, IssuedToken, TokenRecord, WorkerHealth
from store.services.connections import create_connection, list_connections
from store.services.tokens import issue_token, revoke_token, rotate_token
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import relative, shown, status_label, timestamp
from tui.messages import ConnectionCreated, ProvisioningLoaded, TokenIssued, TokenRevoked
from tui.screens.activity import (
    ACTIVITY_COLUMNS,
    activity_cells,
    activity_detail,
    activity_summary,
    filter_label,
    next_status,
)
from tui.screens.dialogs import ConfirmDialog, PromptDialog, SecretDialog
from tui.screens.text_detail import TextDetailScreen
from tui.widgets.fitted_table import ColumnSpec, FittedTable
from tui.widgets.panel import RefreshingPanel
from tui.widgets.search_input import SearchInput, search_row

ACTIVITY_LIMIT = 200
NOTABLE_LIMIT = 3

CONNECTION_COLUMNS = (
    ColumnSpec("name", "Connection", 12, 3),
    ColumnSpec("kind", "Kind/prefix", 11),
    ColumnSpec("users", "Users", 5),
    ColumnSpec("groups", "Groups", 6),
    ColumnSpec("last_used", "Last Used", 10, 1),
    ColumnSpec(
        "status",
        "Status",
        11,
        0,
        (
            (status_label("revoked"), "bold"),
            (status_label("stale"), "bold reverse"),
            (status_label("no tokens"), "bold"),
        ),
    ),
    ColumnSpec("rate", "Limit", 6),
)
TOKEN_BRANCH = "└ "  # noqa: S105  (a tree branch drawn before a token name)
"""What a token's name is shown after, beneath its connection."""
NEW_CONNECTION = "\0new"
"""The token dialog's choice "a new connection named like the token" (no name holds NUL)."""
NO_KIND = "\0none"


def connection_key(c: ConnectionRecord) -> str:
    return f"c{c.id}"


def token_key(t: TokenRecord) -> str:
    return f"t{t.id}"


class ProvisioningPanel(RefreshingPanel):
    """Settings -> Authentication -> SCIM Provisioning, for the terminal."""

    HELP_NAME = "SCIM Provisioning panel"

    BINDINGS = [
        Binding("a", "generate", "Add token"),
        Binding("n", "new_connection", "New connection"),
        Binding("o", "rotate", "Rotate token"),
        Binding("x", "revoke", "Revoke"),
        Binding("c", "copy_url", "Copy URL"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("f", "cycle_status", "Status filter"),
        Binding("t", "row_filter", "Connection/token filter"),
    ]

    def __init__(self, ctx: TuiContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.connections: dict[str, ConnectionRecord] = {}
        self.tokens: dict[str, tuple[TokenRecord, ConnectionRecord]] = {}
        self.activity: dict[str, ActivityRun] = {}
        self.wanted = ActivityFilter()
        self._select_next: str | None = None  # a row key to move to once it is loaded

    def compose(self) -> ComposeResult:
        with Horizontal(id="base-url-row"):
            yield Label("SCIM Base URL ", classes="field-label")
            yield Static(Text(self.ctx.settings.scim_base_url), id="base-url")
            yield Button("Copy", id="copy-url", compact=True)
        yield Label("IdP connections and their tokens", classes="section-title")
        yield FittedTable(CONNECTION_COLUMNS, id="connections")
        yield Static("", id="health")
        yield Static("", id="notable")
        with Horizontal(id="activity-title-row"):
            yield Label("Activity (errors first) ", classes="section-title")
            yield Label(Text(filter_label(self.wanted)), id="activity-filters")
        yield search_row(
            "Filter",
            "path, filter, error, client or agent (/ to type)",
            id="activity-filter",
            row_id="activity-filter-row",
        )
        yield FittedTable(ACTIVITY_COLUMNS, id="activity")
        yield Static("", id="activity-detail")

    def load_again(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one("#connections", FittedTable).focus()

    # ---- loading -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="provisioning-load")
    def load(self) -> None:
        with store_call(self.ctx, self.app, "load SCIM provisioning"):
            store = self.ctx.store
            connections = tuple(list_connections(store))
            records = recent_activity(store, ACTIVITY_LIMIT, errors_first=True, wanted=self.wanted)
            activity = tuple(collapse_refusals(records))
            health = worker_health(store)
            notable = tuple(notable_events(store, NOTABLE_LIMIT))
            self.post_message(ProvisioningLoaded(connections, activity, health, notable))

    def on_provisioning_loaded(self, message: ProvisioningLoaded) -> None:
        now = self.ctx.now()
        self.connections = {connection_key(c): c for c in message.connections}
        self.tokens = {token_key(t): (t, c) for c in message.connections for t in c.tokens}
        table = self.query_one("#connections", FittedTable)
        table.set_rows(connection_rows(message.connections, now, self._default_rate))
        if self._select_next in table.row_keys:
            table.move_cursor(row=table.row_keys.index(self._select_next), animate=False)
            self._select_next = None
        self.activity = {str(run.record.id): run for run in message.activity}
        self.query_one("#activity", FittedTable).set_rows(
            [(key, activity_cells(run, now)) for key, run in self.activity.items()]
        )
        self.query_one("#health", Static).update(
            Text(health_text(message.health, message.connections, now))
        )
        notable = self.query_one("#notable", Static)
        notable.display = bool(message.notable)
        notable.update(Text(notable_text(message.notable)))
        self._show_activity_detail()

    @property
    def _default_rate(self) -> int:
        return self.ctx.settings.rate_limit.requests_per_minute

    @on(DataTable.RowHighlighted, "#activity")
    def _show_activity_detail(self) -> None:
        run = self._current_run()
        text = activity_summary(run.record if run else None)
        self.query_one("#activity-detail", Static).update(Text(text))

    def _current_run(self) -> ActivityRun | None:
        key = self.query_one("#activity", FittedTable).current_key
        return self.activity.get(key) if key else None

    @on(DataTable.RowSelected, "#activity")
    def open_activity(self) -> None:
        run = self._current_run()
        if run is not None:
            a = run.record
            title = f"Request {a.at:%H:%M:%S} {a.method} {a.path}"
            self.app.push_screen(TextDetailScreen(shown(title), activity_detail(run)))

    # ---- the row under the cursor ------------------------------------------------------

    def _current_row(self) -> tuple[ConnectionRecord | None, TokenRecord | None]:
        """The connection of the highlighted row and, on a token's row, that token."""
        key = self.query_one("#connections", FittedTable).current_key or ""
        if key in self.tokens:
            token, connection = self.tokens[key]
            return connection, token
        return self.connections.get(key), None

    # ---- filters -----------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        self.query_one("#activity-filter", SearchInput).focus()

    @on(SearchInput.Left, "#activity-filter")
    def _left_filter(self) -> None:
        self.query_one("#activity", FittedTable).focus()

    @on(Input.Submitted, "#activity-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._filter(replace(self.wanted, text=event.value.strip()))
        self.query_one("#activity", FittedTable).focus()

    def action_cycle_status(self) -> None:
        self._filter(replace(self.wanted, status=next_status(self.wanted.status)))

    def action_row_filter(self) -> None:
        """Only the requests of the selected token, or of the selected connection's tokens;
        pressed again, everyone's."""
        connection, token = self._current_row()
        if self.wanted.token or self.wanted.connection or connection is None:
            self._filter(replace(self.wanted, token="", connection=""))
        elif token is not None:
            self._filter(replace(self.wanted, token=token.name))
        else:
            self._filter(replace(self.wanted, connection=connection.name))

    def _filter(self, wanted: ActivityFilter) -> None:
        """Apply a new filter and move to the activity rows it shows."""
        self.wanted = wanted
        self.query_one("#activity-filters", Label).update(Text(filter_label(wanted)))
        self.query_one("#activity", FittedTable).focus()
        self.load()

    # ---- connections and tokens --------------------------------------------------------

    @on(Button.Pressed, "#copy-url")
    def action_copy_url(self) -> None:
        self.app.copy_to_clipboard(self.ctx.settings.scim_base_url)
        self.notify("SCIM Base URL copied to the clipboard (if your terminal allows OSC 52).")

    def action_new_connection(self) -> None:
        """Ask for a name and kind; the dialog creates it, showing a refusal inline."""
        store, actor = self.ctx.store, self.ctx.actor
        kinds = [("Kind: not said", NO_KIND)] + [(f"Kind: {k}", k) for k in KINDS]

        def create(name: str) -> ConnectionRecord:
            kind = None if dialog.choice == NO_KIND else dialog.choice
            return create_connection(store, name, kind, actor)

        dialog: PromptDialog[ConnectionRecord] = PromptDialog(
            "New IdP connection",
            "One connection per identity provider (an Okta tenant, an Entra ID app...). It "
            "owns the users and groups its tokens create. Then press a to issue its token.",
            placeholder="Okta",
            confirm_label="Create",
            submit=create,
            ctx=self.ctx,
            choices=kinds,
        )
        self.app.push_screen(dialog, self._connection_created)

    def _connection_created(self, record: ConnectionRecord | None) -> None:
        if record is not None:
            self.post_message(ConnectionCreated(record))

    def on_connection_created(self, message: ConnectionCreated) -> None:
        name = message.record.name
        self.notify(f"Connection “{name}” created. Press a to issue its token.", markup=False)
        self._select_next = connection_key(message.record)
        self.load()

    def action_generate(self) -> None:
        """Ask for a name and the connection (the highlighted row's by default); the dialog
        issues the token itself so that a refused name (a duplicate, say) is shown inline
        and what was typed is kept."""
        store, actor = self.ctx.store, self.ctx.actor
        selected, _ = self._current_row()
        names = sorted((c.name for c in self.connections.values()), key=str.casefold)
        choices = [(f"Connection: {n}", n) for n in names]
        choices.append(("A new connection named like the token", NEW_CONNECTION))

        def issue(name: str) -> IssuedToken:
            connection = None if dialog.choice == NEW_CONNECTION else dialog.choice
            return issue_token(store, name, actor, connection=connection)

        dialog: PromptDialog[IssuedToken] = PromptDialog(
            "Generate SCIM token",
            "Give the token a descriptive name, and pick the IdP connection it is for.",
            placeholder="Okta SCIM",
            confirm_label="Generate",
            submit=issue,
            ctx=self.ctx,
            choices=choices,
            choice=selected.name if selected is not None else NEW_CONNECTION,
        )
        self.app.push_screen(dialog, self._generated)

    def _generated(self, issued: IssuedToken | None) -> None:
        if issued is not None:
            self.post_message(TokenIssued(issued))

    def on_token_issued(self, message: TokenIssued) -> None:
        issued, replaces = message.issued, message.replaces
        message.issued = None  # type: ignore[assignment]  # the dialog is the only holder
        record = issued.record
        note = f"For connection “{record.connection}”."
        if replaces:
            note += f" “{replaces}” keeps working until you revoke it."
        self._select_next = token_key(record)
        self.app.push_screen(
            SecretDialog(record.name, issued.secret, note=note),
            self._secret_closed(record.name, replaces),
        )
        self.load()

    def _secret_closed(self, name: str, replaces: str) -> Callable[[None], None]:
        def closed(_: None) -> None:
            if replaces:
                self.notify(
                    f"“{replaces}” still works. Once the IdP sends with “{name}” (its Last "
                    f"Used moves), select “{replaces}” and press x to revoke it.",
                    timeout=20,
                    markup=False,
                )
            self.load()

        return closed

    def action_rotate(self) -> None:
        """A new token for the highlighted token's connection, shown once; the old token
        keeps working until the operator revokes it."""
        connection, token = self._current_row()
        if connection is None:
            self.notify("Select a connection or token to rotate first.", severity="warning")
            return
        if token is None:
            token = rotation_target(connection.tokens)
        if token is None or token.revoked_at is not None:
            self.notify(
                f"“{connection.name}” has no active token to rotate: press a to issue one.",
                severity="warning",
                markup=False,
            )
            return
        question = (
            f"Rotate “{token.name}” of connection “{connection.name}”? A new token for "
            f"“{connection.name}” is shown once. “{token.name}” keeps working: paste the new "
            "token into the IdP, check that its Last Used moves, then revoke the old one (x)."
        )
        old = token.name
        self._ask("Rotate SCIM token", question, "Rotate", lambda: self.rotate(old))

    @work(thread=True, group="provisioning-write")
    def rotate(self, old: str) -> None:
        with store_call(self.ctx, self.app, "rotate token"):
            issued = rotate_token(self.ctx.store, old, self.ctx.actor)
            self.post_message(TokenIssued(issued, replaces=old))

    def action_revoke(self) -> None:
        connection, token = self._current_row()
        if token is None:
            text = "Select a token to revoke first."
            if connection is not None:
                text = (
                    f"Select one of the tokens beneath “{connection.name}” to revoke it (a "
                    "connection is removed with `trident-scim connection remove`)."
                )
            self.notify(text, severity="warning", markup=False)
            return
        if token.status == "revoked":
            self.notify(
                f"Token “{token.name}” is already revoked.", severity="warning", markup=False
            )
            return
        question = (
            f"Revoke token “{token.name}” ({token.prefix}…) of connection “{token.connection}”? "
            "It stops working immediately; an IdP still using it needs another token of the "
            "connection to resume sync."
        )
        name = token.name
        self._ask("Revoke SCIM token", question, "Revoke", lambda: self.revoke(name))

    def _ask(self, title: str, question: str, verb: str, then: Callable[[], object]) -> None:
        """Ask ``question`` (the dialog escapes it); run ``then`` on a yes only."""

        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ConfirmDialog(title, question, confirm_label=verb), answered)

    @work(thread=True, group="provisioning-write")
    def revoke(self, name: str) -> None:
        with store_call(self.ctx, self.app, "revoke token"):
            revoke_token(self.ctx.store, name, self.ctx.actor)
            self.post_message(TokenRevoked(name))

    def on_token_revoked(self, message: TokenRevoked) -> None:
        self.notify(f"Token “{message.name}” revoked.", markup=False)
        self.load()


def connection_rows(
    connections: tuple[ConnectionRecord, ...], now: datetime, default_rate: int
) -> list[tuple[str, tuple[str, ...]]]:
    """A row per connection, its tokens beneath it (FittedTable sanitises every cell)."""
    rows: list[tuple[str, tuple[str, ...]]] = []
    for c in connections:
        rows.append(
            (
                connection_key(c),
                (
                    c.name,
                    c.kind or "-",
                    str(c.user_count),
                    str(c.group_count),
                    relative(c.last_used, now),
                    status_label(c.status),
                    "",
                ),
            )
        )
        for t in c.tokens:
            rate = f"{t.rate_limit or default_rate}/min"
            cells = (
                TOKEN_BRANCH + t.name,
                t.prefix,
                "",
                "",
                relative(t.last_used, now),
                status_label(t.status),
                rate,
            )
            rows.append((token_key(t), cells))
    return rows


def notable_text(events: tuple[AuditRecord, ...]) -> str:
    """One line per userName change of a user holding manual roles (names escaped)."""
    lines = []
    for e in events:
        before, after = e.before or {}, e.after or {}
        roles = ", ".join(after.get("manual_roles", []))
        lines.append(
            f"! {timestamp(e.at)} {shown(e.actor)} renamed "
            f"'{shown(before.get('userName'))}' -> '{shown(after.get('userName'))}': "
            f"manual {shown(roles)} suspended until an operator confirms"
        )
    return "\n".join(lines)


def health_text(
    health: WorkerHealth, connections: tuple[ConnectionRecord, ...], now: datetime
) -> str:
    """One line about the worker, then a warning line per connection whose IdP went quiet,
    and per quiet token of a connection that is still heard from (an old token after a
    rotation: revoke it), then a line per connection limited to userName domains."""
    lines = [_worker_line(health, now)]
    for c in connections:
        if c.domains:
            lines.append(
                f"{shown(c.name)}: its IdP may only create or rename users in "
                f"{', '.join('@' + d for d in c.domains)}"
            )
        if c.status == "stale":
            lines.append(
                f"! {shown(c.name)}: no requests {_quiet(c.last_used, c.created_at, now)}; "
                "your IdP is not pushing. Re-test the connection in its admin console."
            )
            continue
        for t in c.tokens:
            if t.status == "stale":
                lines.append(
                    f"! token {shown(t.name)} of {shown(c.name)} not used "
                    f"{_quiet(t.last_used, t.created, now)}: if the IdP uses another token "
                    "now, revoke it (x)."
                )
    return "\n".join(lines)


def _quiet(last_used: datetime | None, created: datetime, now: datetime) -> str:
    if last_used is None:
        return f"since it was created {relative(created, now)}"
    return f"since {relative(last_used, now)}"


def _worker_line(health: WorkerHealth, now: object) -> str:
    if health.leader is None:
        state = "Worker: not running (start `trident-scim serve` or `trident-scim worker`)"
    else:
        state = "Worker: running"
    runs = [j.last_run for j in health.jobs if j.last_run is not None]
    if runs:
        latest = max(runs, key=lambda r: r.started)
        state += f" · last job {latest.job} {relative(latest.started, now)}"  # type: ignore[arg-type]
    failing = [
        j.job for j in health.jobs if j.last_run is not None and j.last_run.outcome == "error"
    ]
    if failing:
        state += f" · failing: {', '.join(failing)}"
    return state
