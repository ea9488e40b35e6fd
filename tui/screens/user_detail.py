"""One user in detail: groups, roles (manual, or from which IdP group), valid sessions and
audit history, with the operator's actions on them.

Every action is one store use case (grant/revoke a manual role, end one or all sessions,
deactivate with a recorded reason, reactivate through the lifecycle shared with the API),
confirmed first, run in a thread worker and recorded with the operator's name as actor.
Enter on an audit row opens the event in full. No Pony here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from store.domain.active import can_deactivate, can_reactivate
from store.domain.roles import grantable_roles, revocable_roles
from store.queries.identity import active_sessions, list_roles, user_detail
from store.records import SessionRecord, UserDetail
from store.services.lifecycle import deactivate_user, reactivate_user
from store.services.roles import grant_role, revoke_role
from store.services.sessions import end_session, end_sessions
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import shown
from tui.messages import UserChanged, UserDetailLoaded
from tui.screens.dialogs import ChoiceDialog, ConfirmDialog, PromptDialog
from tui.screens.text_detail import TextDetailScreen
from tui.screens.user_records import (
    AUDIT_COLUMNS,
    ROLE_COLUMNS,
    SESSION_COLUMNS,
    SESSIONS_NOTE,
    audit_row,
    audit_text,
    role_row,
    session_note,
    session_row,
    summary_text,
)
from tui.widgets.fitted_table import FittedTable

AUDIT_ROWS = 50
REASON = "operator console"
USER_ACTIONS = ("grant", "revoke", "end_sessions", "end_session", "deactivate", "reactivate")


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
        Binding("a", "grant", "Add role"),
        Binding("x", "revoke", "Revoke role"),
        Binding("e", "end_sessions", "End all sessions"),
        Binding("s", "end_session", "End session"),
        Binding("d", "deactivate", "Deactivate"),
        Binding("d", "reactivate", "Reactivate"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self, ctx: TuiContext, user_id: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.user_id = user_id
        self.detail: UserDetail | None = None
        self.roles: tuple[str, ...] = ()
        self.audit: dict[str, Any] = {}
        self.sessions: dict[str, SessionRecord] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="user-detail"):
            yield Static("Loading…", id="user-summary")
            yield Label("Groups", classes="section-title")
            yield Static("", id="user-groups")
            yield Label("Roles", classes="section-title")
            yield FittedTable(ROLE_COLUMNS, id="user-roles")
            yield Label("Sessions (s ends the selected one, e all)", classes="section-title")
            yield FittedTable(SESSION_COLUMNS, id="user-sessions")
            yield Static(SESSIONS_NOTE, id="sessions-note", markup=False)
            yield Label("Audit history (newest first; Enter opens)", classes="section-title")
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
            detail = user_detail(self.ctx.store, self.user_id, audit_limit=AUDIT_ROWS, by_id=True)
            sessions = (
                () if detail.deleted else tuple(active_sessions(self.ctx.store, self.user_id))
            )
            roles = tuple(r.name for r in list_roles(self.ctx.store))
            self.post_message(UserDetailLoaded(detail, roles, sessions))

    def on_user_detail_loaded(self, message: UserDetailLoaded) -> None:
        self.detail, self.roles = message.detail, message.roles
        detail, now = message.detail, self.ctx.now()
        self.sub_title = shown(detail.user.user_name)
        self.query_one("#user-summary", Static).update(Text(summary_text(detail, now)))
        groups = ", ".join(shown(g.display_name) for g in detail.user.groups) or "none"
        self.query_one("#user-groups", Static).update(Text(groups))
        self.query_one("#user-roles", FittedTable).set_rows([role_row(r) for r in detail.roles])
        self.query_one("#user-sessions", FittedTable).set_rows(
            [session_row(s, now) for s in message.sessions]
        )
        self.sessions = {str(s.id): s for s in message.sessions}
        self._show_session_note()
        self.audit = {str(e.id): e for e in detail.audit}
        self.query_one("#user-audit", FittedTable).set_rows([audit_row(e) for e in detail.audit])
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in USER_ACTIONS:
            return True
        if self.detail is None or self.detail.deleted:
            return None  # shown dimmed until loaded; nothing to do on a deleted user
        held = self.detail.hold is not None
        if action == "deactivate":  # also places a hold on a user the IdP deactivated
            return can_deactivate(self.detail.user.active, held)
        if action == "reactivate":
            return can_reactivate(self.detail.user.active, held)
        return True

    @on(DataTable.RowHighlighted, "#user-sessions")
    def _show_session_note(self) -> None:
        """The selected session's whole address and User-Agent, under the list."""
        key = self.query_one("#user-sessions", FittedTable).current_key
        note = session_note(self.sessions.get(key) if key else None)
        self.query_one("#sessions-note", Static).update(Text(note))

    @on(DataTable.RowSelected, "#user-audit")
    def open_audit(self) -> None:
        key = self.query_one("#user-audit", FittedTable).current_key
        event = self.audit.get(key) if key else None
        if event is not None:
            title = shown(f"Audit {event.at:%Y-%m-%d %H:%M:%S} {event.action}")
            self.app.push_screen(TextDetailScreen(title, audit_text(event)))

    # ---- roles -------------------------------------------------------------------------

    def action_grant(self) -> None:
        detail = self._live()
        choices = grantable_roles(self.roles, ((r.role, r.source) for r in detail.roles))
        if not choices:
            self.notify("Every role is already granted manually.", severity="warning")
            return
        prompt = f"Role to grant to {detail.user.user_name}:"
        self.app.push_screen(ChoiceDialog("Grant a manual role", prompt, choices), self._grant)

    def _grant(self, role: str | None) -> None:
        if not role:
            return
        name = self._live().user.user_name
        question = f"Grant the role {role} to {name} (a manual grant, kept until revoked)?"
        self._confirm("Grant role", question, UserAction(
            "grant role",
            lambda: grant_role(self.ctx.store, self.user_id, role, self.ctx.actor, by_id=True),
            lambda done: f"Granted {role} to {name}." if done else f"{name} already has {role}.",
        ))  # fmt: skip

    def action_revoke(self) -> None:
        detail = self._live()
        manual = revocable_roles((r.role, r.source) for r in detail.roles)
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
        question = (
            f"Revoke the manual role {role} from {name}? A role the user also holds "
            "through an IdP group stays."
        )
        self._confirm("Revoke role", question, UserAction(
            "revoke role",
            lambda: revoke_role(self.ctx.store, self.user_id, role, self.ctx.actor, by_id=True),
            lambda _: f"Revoked manual role {role} from {name}.",
        ))  # fmt: skip

    # ---- sessions ----------------------------------------------------------------------

    def action_end_sessions(self) -> None:
        detail = self._live()
        name = detail.user.user_name
        question = (
            f"End all {detail.active_sessions} active session(s) of {name}? "
            "Their next request in Control returns to the sign-in page."
        )
        self._confirm("End sessions", question, UserAction(
            "end sessions",
            lambda: end_sessions(self.ctx.store, self.user_id, self.ctx.actor, by_id=True),
            lambda n: f"Ended {n} session(s) of {name}.",
        ))  # fmt: skip

    def action_end_session(self) -> None:
        key = self.query_one("#user-sessions", FittedTable).current_key
        if key is None:
            self.notify("No active session to end.", severity="warning")
            return
        name, session_id = self._live().user.user_name, int(key)
        question = (
            f"End session #{session_id} of {name}? Only that browser returns to the "
            "sign-in page; other sessions go on."
        )
        self._confirm("End session", question, UserAction(
            "end session",
            lambda: end_session(self.ctx.store, session_id, self.user_id, self.ctx.actor),
            lambda ended: f"Ended session #{session_id}." if ended else "It had ended already.",
        ))  # fmt: skip

    # ---- lifecycle ---------------------------------------------------------------------

    def action_deactivate(self) -> None:
        name = self._live().user.user_name
        question = (
            f"Deactivate {name}? Their sessions end now and IdP-mapped roles are "
            "removed; manual roles and audit history are kept. An operator hold keeps them "
            "inactive whatever the IdP sends, until an operator reactivates them. Why "
            "(recorded in the audit)?"
        )

        def deactivate(reason: str) -> bool:
            return deactivate_user(self.ctx.store, self.user_id, self.ctx.actor, reason)

        dialog: PromptDialog[bool] = PromptDialog(
            f"Deactivate — {name}",
            question,
            placeholder="e.g. left the company, ticket SEC-1234",
            confirm_label="Deactivate",
            submit=deactivate,
            ctx=self.ctx,
            empty_message="Enter a reason first: it is recorded in the audit.",
        )
        self.app.push_screen(dialog, lambda changed: self._deactivated(name, changed))

    def _deactivated(self, name: str, changed: bool | None) -> None:
        if changed is not None:
            self.post_message(UserChanged(self.user_id, f"{name} deactivated and held."))

    def action_reactivate(self) -> None:
        name = self._live().user.user_name
        question = (
            f"Reactivate {name}? The operator hold, if any, is lifted and IdP-mapped roles "
            "return from their current groups."
        )
        self._confirm("Reactivate", question, UserAction(
            "reactivate user",
            lambda: reactivate_user(self.ctx.store, self.user_id, self.ctx.actor, REASON),
            lambda _: f"{name} reactivated.",
        ))  # fmt: skip

    # ---- running -----------------------------------------------------------------------

    def _live(self) -> UserDetail:
        assert self.detail is not None  # check_action keeps actions off until loaded
        return self.detail

    def _confirm(self, verb: str, question: str, action: UserAction) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run(action.what, action.call, action.done)

        title = f"{verb} — {self._live().user.user_name}"
        self.app.push_screen(ConfirmDialog(title, question, confirm_label=verb), answered)

    @work(thread=True, group="user-write")
    def _run(self, what: str, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        with store_call(self.ctx, self.app, what):
            result = call()
            self.post_message(UserChanged(self.user_id, done(result)))

    def on_user_changed(self, message: UserChanged) -> None:
        self.notify(message.summary)  # the app's notify makes it plain, terminal-safe text
        self.load()
