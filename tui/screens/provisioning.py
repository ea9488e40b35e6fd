"""The SCIM Provisioning panel: Base URL to copy, tokens (generate once, revoke), recent
provisioning activity with errors first, and the worker's health.

Loads through store queries in thread workers and refreshes itself every few seconds. Token
secrets only pass through here on their way into ``SecretDialog``; nothing in this panel
keeps one. It never imports Pony and holds no product rule.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Label, Static

from store.domain.display import safe_multiline, safe_text
from store.queries.activity import recent_activity
from store.queries.jobs import worker_health
from store.queries.tokens import list_tokens
from store.records import ActivityRecord, TokenRecord, WorkerHealth
from store.services.tokens import issue_token, revoke_token
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import activity_time, relative
from tui.messages import ProvisioningLoaded, TokenIssued, TokenRevoked
from tui.screens.dialogs import ConfirmDialog, PromptDialog, SecretDialog
from tui.widgets.fitted_table import ColumnSpec, FittedTable
from tui.widgets.panel import RefreshingPanel

ACTIVITY_LIMIT = 200

TOKEN_COLUMNS = (
    ColumnSpec("name", "Name", 10, 3),
    ColumnSpec("prefix", "Prefix", 10),
    ColumnSpec("created", "Created", 10, 1),
    ColumnSpec("created_by", "Created by", 10, 2),
    ColumnSpec("last_used", "Last Used", 10, 1),
    ColumnSpec("status", "Status", 7, 0, (("revoked", "red"), ("stale", "bold yellow"))),
    ColumnSpec("rate", "Limit", 6),
)
ACTIVITY_COLUMNS = (
    ColumnSpec("at", "Time", 11),
    ColumnSpec("token", "Token", 10, 1),
    ColumnSpec("method", "Method", 6),
    ColumnSpec("path", "Path", 12, 4),
    ColumnSpec("status", "Status", 6),
    ColumnSpec("latency", "ms", 5),
)


class ProvisioningPanel(RefreshingPanel):
    """Settings -> Authentication -> SCIM Provisioning, for the terminal."""

    BINDINGS = [
        Binding("g", "generate", "Generate"),
        Binding("x", "revoke", "Revoke"),
        Binding("c", "copy_url", "Copy URL"),
    ]

    def __init__(self, ctx: TuiContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.tokens: dict[str, TokenRecord] = {}
        self.activity: dict[str, ActivityRecord] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="base-url-row"):
            yield Label("SCIM Base URL ", classes="field-label")
            yield Static(Text(self.ctx.settings.scim_base_url), id="base-url")
            yield Button("Copy", id="copy-url", compact=True)
        yield Label("Tokens", classes="section-title")
        yield FittedTable(TOKEN_COLUMNS, id="tokens")
        yield Static("", id="health")
        yield Label("Recent provisioning activity (errors first)", classes="section-title")
        yield FittedTable(ACTIVITY_COLUMNS, id="activity")
        yield Static("", id="activity-detail")

    def load_again(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one("#tokens", FittedTable).focus()

    # ---- loading -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="provisioning-load")
    def load(self) -> None:
        with store_call(self.ctx, self.app, "load SCIM provisioning"):
            store = self.ctx.store
            tokens = tuple(list_tokens(store))
            activity = tuple(recent_activity(store, limit=ACTIVITY_LIMIT, errors_first=True))
            health = worker_health(store)
            self.post_message(ProvisioningLoaded(tokens, activity, health))

    def on_provisioning_loaded(self, message: ProvisioningLoaded) -> None:
        now = self.ctx.now()
        self.tokens = {str(t.id): t for t in message.tokens}
        self.query_one("#tokens", FittedTable).set_rows(
            [(key, self._token_cells(t)) for key, t in self.tokens.items()]
        )
        self.activity = {str(a.id): a for a in message.activity}
        self.query_one("#activity", FittedTable).set_rows(
            [(key, self._activity_cells(a)) for key, a in self.activity.items()]
        )
        self.query_one("#health", Static).update(
            Text(health_text(message.health, message.tokens, now))
        )
        self._show_activity_detail()

    def _token_cells(self, t: TokenRecord) -> tuple[str, ...]:
        rate = f"{t.rate_limit or self.ctx.settings.rate_limit.requests_per_minute}/min"
        return (
            t.name,
            t.prefix,
            t.created.strftime("%Y-%m-%d"),
            t.created_by,
            relative(t.last_used, self.ctx.now()),
            t.status,
            rate,
        )

    def _activity_cells(self, a: ActivityRecord) -> tuple[str, ...]:
        return (
            activity_time(a.at, self.ctx.now()),
            a.token_name or "-",
            a.method,
            a.path,
            str(a.status),
            f"{a.latency_ms:.0f}",
        )

    @on(DataTable.RowHighlighted, "#activity")
    def _show_activity_detail(self) -> None:
        key = self.query_one("#activity", FittedTable).current_key
        record = self.activity.get(key) if key else None
        text = activity_detail(record) if record else "No provisioning requests recorded yet."
        self.query_one("#activity-detail", Static).update(Text(text))

    # ---- actions -----------------------------------------------------------------------

    @on(Button.Pressed, "#copy-url")
    def action_copy_url(self) -> None:
        self.app.copy_to_clipboard(self.ctx.settings.scim_base_url)
        self.notify("SCIM Base URL copied to the clipboard (if your terminal allows OSC 52).")

    def action_generate(self) -> None:
        dialog = PromptDialog(
            "Generate SCIM token",
            "Give the token a descriptive name, e.g. the IdP that will use it.",
            placeholder="Okta SCIM",
            confirm_label="Generate",
        )
        self.app.push_screen(dialog, self._generate_named)

    def _generate_named(self, name: str | None) -> None:
        if name:
            self.issue(name)

    @work(thread=True, group="provisioning-write")
    def issue(self, name: str) -> None:
        with store_call(self.ctx, self.app, "generate token"):
            self.post_message(TokenIssued(issue_token(self.ctx.store, name, self.ctx.actor)))

    def on_token_issued(self, message: TokenIssued) -> None:
        issued = message.issued
        message.issued = None  # type: ignore[assignment]  # the dialog is the only holder
        self.app.push_screen(SecretDialog(issued.record.name, issued.secret), self._secret_closed)
        self.load()

    def _secret_closed(self, _: None) -> None:
        self.load()

    def action_revoke(self) -> None:
        key = self.query_one("#tokens", FittedTable).current_key
        token = self.tokens.get(key) if key else None
        if token is None:
            self.notify("Select a token to revoke first.", severity="warning")
            return
        if token.status == "revoked":
            self.notify(
                f"Token “{token.name}” is already revoked.", severity="warning", markup=False
            )
            return
        question = (
            f"Revoke token “{token.name}” ({token.prefix}…)? It stops working immediately; "
            "any IdP using it needs a new token to resume sync."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.revoke(token.name)

        self.app.push_screen(
            ConfirmDialog("Revoke SCIM token", question, confirm_label="Revoke"), confirmed
        )

    @work(thread=True, group="provisioning-write")
    def revoke(self, name: str) -> None:
        with store_call(self.ctx, self.app, "revoke token"):
            revoke_token(self.ctx.store, name, self.ctx.actor)
            self.post_message(TokenRevoked(name))

    def on_token_revoked(self, message: TokenRevoked) -> None:
        self.notify(f"Token “{message.name}” revoked.", markup=False)
        self.load()


def activity_detail(a: ActivityRecord) -> str:
    """What an operator (or support) needs about one request, e.g. the exact filter string
    behind a 400 invalidFilter. Every field is outside text: shown terminal-safe."""
    first = f"{a.at:%Y-%m-%d %H:%M:%S} {safe_text(a.method)} {safe_text(a.path)} -> {a.status}"
    if a.scim_type:
        first += f" {safe_text(a.scim_type)}"
    lines = [first]
    if a.query:
        lines.append(f"filter: {safe_text(a.query)}")
    if a.detail:
        lines.append(safe_multiline(a.detail))
    return "\n".join(lines)


def health_text(health: WorkerHealth, tokens: tuple[TokenRecord, ...], now: object) -> str:
    """One line about the worker, then a warning line per token whose IdP went quiet."""
    lines = [_worker_line(health, now)]
    for t in tokens:
        if t.status == "stale":
            lines.append(
                f"! {safe_text(t.name)}: no requests since {relative(t.last_used, now)}; "  # type: ignore[arg-type]
                "your IdP is not pushing. Re-test the connection in its admin console."
            )
    return "\n".join(lines)


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
