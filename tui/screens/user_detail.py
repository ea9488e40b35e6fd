"""One user in detail: groups, roles (manual, or from which IdP group), active sessions and
audit history, with the operator's actions on them.

Every action is one store use case (grant/revoke a manual role, end sessions, deactivate or
reactivate through the lifecycle shared with the API), run in a thread worker and recorded
with the operator's name as actor. Confirmations name the user and the effect. No Pony here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Static

from store.domain.display import safe_text
from store.queries.identity import list_roles, user_detail
from store.records import UserDetail
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import grant_role, revoke_role
from store.services.sessions import end_sessions
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import audit_change, relative, status_word, timestamp
from tui.messages import UserChanged, UserDetailLoaded
from tui.screens.dialogs import ChoiceDialog, ConfirmDialog
from tui.widgets.fitted_table import ColumnSpec, FittedTable

ROLE_COLUMNS = (
    ColumnSpec("role", "Role", 10, 2),
    ColumnSpec("source", "Source", 7),
    ColumnSpec("via", "Via IdP group", 14, 3),
    ColumnSpec("by", "Granted by", 12, 2),
    ColumnSpec("since", "Since", 16),
)
AUDIT_COLUMNS = (
    ColumnSpec("at", "When", 16),
    ColumnSpec("actor", "Actor", 12, 2),
    ColumnSpec("action", "Action", 14, 1),
    ColumnSpec("detail", "Detail", 12, 4),
)
AUDIT_ROWS = 50
REASON = "operator console"
USER_ACTIONS = ("grant", "revoke", "end_sessions", "deactivate", "reactivate")


@dataclass(frozen=True)
class UserAction:
    """One confirmed operator action: what it is, the use case call, the success message."""

    what: str
    call: Callable[[], Any]
    done: Callable[[Any], str]


class UserDetailScreen(Screen[None]):
    CSS_PATH = "user_detail.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("g", "grant", "Grant"),
        Binding("v", "revoke", "Revoke"),
        Binding("e", "end_sessions", "End sessions"),
        Binding("d", "deactivate", "Deactivate"),
        Binding("a", "reactivate", "Reactivate"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self, ctx: TuiContext, user_id: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.user_id = user_id
        self.detail: UserDetail | None = None
        self.roles: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="user-detail"):
            yield Static("Loading…", id="user-summary")
            yield Label("Groups", classes="section-title")
            yield Static("", id="user-groups")
            yield Label("Roles", classes="section-title")
            yield FittedTable(ROLE_COLUMNS, id="user-roles")
            yield Label("Audit history (newest first)", classes="section-title")
            yield FittedTable(AUDIT_COLUMNS, id="user-audit")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()
        if self.ctx.refresh_seconds:
            self.set_interval(self.ctx.refresh_seconds, self._refresh_if_current)

    def _refresh_if_current(self) -> None:
        if self.is_current:
            self.action_reload()

    # ---- loading -----------------------------------------------------------------------

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="user-detail-load")
    def load(self) -> None:
        with store_call(self.ctx, self.app, "load user"):
            detail = user_detail(self.ctx.store, self.user_id, audit_limit=AUDIT_ROWS)
            roles = tuple(r.name for r in list_roles(self.ctx.store))
            self.post_message(UserDetailLoaded(detail, roles))

    def on_user_detail_loaded(self, message: UserDetailLoaded) -> None:
        self.detail, self.roles = message.detail, message.roles
        detail, now = message.detail, self.ctx.now()
        self.sub_title = safe_text(detail.user.user_name)
        self.query_one("#user-summary", Static).update(Text(summary_text(detail, now)))
        groups = ", ".join(safe_text(g.display_name) for g in detail.user.groups) or "none"
        self.query_one("#user-groups", Static).update(Text(groups))
        self.query_one("#user-roles", FittedTable).set_rows(
            [
                (
                    f"{r.role}\0{r.source}\0{r.via_group or ''}",
                    (
                        r.role,
                        "manual" if r.source == "manual" else "IdP",
                        r.via_group or "-",
                        r.granted_by,
                        timestamp(r.created),
                    ),
                )
                for r in detail.roles
            ]
        )
        self.query_one("#user-audit", FittedTable).set_rows(
            [
                (
                    str(e.id),
                    (
                        timestamp(e.at),
                        e.actor,
                        e.action,
                        e.detail or audit_change(e.before, e.after),
                    ),
                )
                for e in detail.audit
            ]
        )
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in USER_ACTIONS:
            return True
        if self.detail is None or self.detail.deleted:
            return None  # shown dimmed until loaded; nothing to do on a deleted user
        if action == "deactivate":
            return self.detail.user.active  # only the one that applies is offered
        if action == "reactivate":
            return not self.detail.user.active
        return True

    # ---- actions -----------------------------------------------------------------------

    def action_grant(self) -> None:
        detail = self._live()
        held = {r.role for r in detail.roles if r.source == "manual"}
        choices = [r for r in self.roles if r not in held]
        if not choices:
            self.notify("Every role is already granted manually.", severity="warning")
            return
        prompt = f"Role to grant to {detail.user.user_name}:"
        self.app.push_screen(ChoiceDialog("Grant a manual role", prompt, choices), self._grant)

    def _grant(self, role: str | None) -> None:
        if not role:
            return
        name = self._live().user.user_name
        self._start(
            "grant role",
            lambda: grant_role(self.ctx.store, name, role, self.ctx.actor),
            lambda done: f"Granted {role} to {name}." if done else f"{name} already has {role}.",
        )

    def action_revoke(self) -> None:
        detail = self._live()
        manual = sorted({r.role for r in detail.roles if r.source == "manual"})
        if not manual:
            self.notify(
                "No manual roles to revoke. IdP roles follow the user's groups: change the "
                "group in the IdP or the group-to-role mapping.",
                severity="warning",
            )
            return
        prompt = f"Manual role to revoke from {detail.user.user_name}:"
        self.app.push_screen(ChoiceDialog("Revoke a manual role", prompt, manual), self._revoke)

    def _revoke(self, role: str | None) -> None:
        if not role:
            return
        name = self._live().user.user_name
        self._start(
            "revoke role",
            lambda: revoke_role(self.ctx.store, name, role, self.ctx.actor),
            lambda _: f"Revoked manual role {role} from {name}.",
        )

    def action_end_sessions(self) -> None:
        detail = self._live()
        name = detail.user.user_name
        question = (
            f"End all {detail.active_sessions} active session(s) of {name}? "
            "Their next request in Control returns to the sign-in page."
        )
        self._confirm("End sessions", question, UserAction(
            "end sessions",
            lambda: end_sessions(self.ctx.store, name, self.ctx.actor),
            lambda n: f"Ended {n} session(s) of {name}.",
        ))  # fmt: skip

    def action_deactivate(self) -> None:
        name = self._live().user.user_name
        question = (
            f"Deactivate {name}? Their sessions end now and IdP-mapped roles are removed; "
            "manual roles and audit history are kept. If the IdP still lists them as "
            "active, its next sync may reactivate them."
        )
        self._confirm("Deactivate", question, UserAction(
            "deactivate user",
            lambda: deactivate_user(self.ctx.store, self.user_id, self.ctx.actor, REASON),
            lambda _: f"{name} deactivated.",
        ))  # fmt: skip

    def action_reactivate(self) -> None:
        name = self._live().user.user_name
        question = f"Reactivate {name}? IdP-mapped roles return from their current groups."
        self._confirm("Reactivate", question, UserAction(
            "reactivate user",
            lambda: reactivate_user(self.ctx.store, self.user_id, self.ctx.actor, REASON),
            lambda _: f"{name} reactivated.",
        ))  # fmt: skip

    def _live(self) -> UserDetail:
        assert self.detail is not None  # check_action keeps actions off until loaded
        return self.detail

    def _confirm(self, verb: str, question: str, action: UserAction) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._start(action.what, action.call, action.done)

        title = f"{verb} — {self._live().user.user_name}"
        self.app.push_screen(ConfirmDialog(title, question, confirm_label=verb), answered)

    def _start(self, what: str, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        self._run(what, call, done)

    @work(thread=True, group="user-write")
    def _run(self, what: str, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        with store_call(self.ctx, self.app, what):
            result = call()
            self.post_message(UserChanged(self.user_id, done(result)))

    def on_user_changed(self, message: UserChanged) -> None:
        self.notify(message.summary, markup=False)
        self.load()


def summary_text(detail: UserDetail, now: Any) -> str:
    user = detail.user
    status = "deleted" if detail.deleted else status_word(user.active).upper()
    lines = [
        safe_text(user.user_name)
        + (f" — {safe_text(user.display_name)}" if user.display_name else ""),
        f"Status: {status} · last change {relative(user.last_modified, now)}"
        f" · active sessions: {detail.active_sessions}",
        f"id {safe_text(user.id)}"
        + (f" · externalId {safe_text(user.external_id)}" if user.external_id else ""),
    ]
    return "\n".join(lines)
