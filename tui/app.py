"""The operators' terminal app: SCIM Provisioning, User Management and the group-to-role
mapping in three tabs, keyboard first, usable at 80x24 over plain SSH and without colour.

``build_app`` is the one factory: ``trident-scim tui`` and the tests both build the app with
it, handing in the store, settings, the operator's actor name, a clock and the refresh
period. Panels load through store queries and use cases in thread workers; failures arrive
as ``StoreCallFailed`` and become error notifications, never tracebacks. No Pony here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from store.config import Settings
from store.context import Store
from store.domain.display import safe_multiline, safe_text
from tui.context import TuiContext
from tui.messages import StoreCallFailed
from tui.screens.dialogs import SecretDialog
from tui.screens.help import HelpScreen
from tui.screens.mappings import MappingsPanel
from tui.screens.provisioning import ProvisioningPanel
from tui.screens.users import UsersPanel

TABS = ("provisioning", "users", "mappings")
ANIMATIONS_ENV = "TEXTUAL_ANIMATIONS"
PANELS = {"provisioning": ProvisioningPanel, "users": UsersPanel, "mappings": MappingsPanel}


class ControlApp(App[None]):
    """TridentStack Control: SCIM provisioning and users, for operators."""

    TITLE = "TridentStack Control"
    SUB_TITLE = "SCIM provisioning"
    CSS_PATH = [
        "app.tcss",
        "screens/provisioning.tcss",
        "screens/users.tcss",
        "screens/mappings.tcss",
    ]
    BINDINGS = [
        Binding("1", "show_tab('provisioning')", "Provisioning", show=False),
        Binding("2", "show_tab('users')", "Users", show=False),
        Binding("3", "show_tab('mappings')", "Mapping", show=False),
        Binding("r", "refresh_panel", "Refresh"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, ctx: TuiContext) -> None:
        super().__init__()
        self.ctx = ctx
        if ANIMATIONS_ENV not in os.environ:
            # Over SSH every animation frame crosses the wire: a tab switch redrew ~2.5x
            # longer with the underline slide. TEXTUAL_ANIMATIONS=full brings it back.
            self.animation_level = "none"
        self._shown_tab = "provisioning"  # panels load themselves when first mounted

    @property
    def store(self) -> Store:
        return self.ctx.store

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="provisioning", id="tabs"):
            with TabPane("1 SCIM Provisioning", id="provisioning"):
                yield ProvisioningPanel(self.ctx, id="provisioning-panel")
            with TabPane("2 User Management", id="users"):
                yield UsersPanel(self.ctx, id="users-panel")
            with TabPane("3 Group-to-role mapping", id="mappings"):
                yield MappingsPanel(self.ctx, id="mappings-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self._focus_active)

    def _focus_active(self) -> None:
        tab = self.query_one("#tabs", TabbedContent).active
        if tab in TABS and self.screen is self.screen_stack[0]:
            self._panel(tab).focus_main()

    # ---- panels ------------------------------------------------------------------------

    @property
    def provisioning(self) -> ProvisioningPanel:
        return self.query_one(ProvisioningPanel)

    @property
    def users(self) -> UsersPanel:
        return self.query_one(UsersPanel)

    @property
    def mappings(self) -> MappingsPanel:
        return self.query_one(MappingsPanel)

    def _panel(self, tab: str) -> ProvisioningPanel | UsersPanel | MappingsPanel:
        panel = self.query_one(PANELS[tab])
        assert isinstance(panel, ProvisioningPanel | UsersPanel | MappingsPanel)
        return panel

    def action_show_tab(self, tab: str) -> None:
        if tab not in TABS:
            return
        if self.screen is not self.screen_stack[0]:
            return  # a dialog or the user detail is open
        self.query_one("#tabs", TabbedContent).active = tab
        self._panel(tab).focus_main()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or ""
        if tab not in TABS or tab != self.query_one("#tabs", TabbedContent).active:
            return  # a late event for a tab the operator has already left
        panel = self._panel(tab)
        panel.focus_main()
        if tab != self._shown_tab:
            self._shown_tab = tab
            self._refresh(panel)

    def action_refresh_panel(self) -> None:
        tab = self.query_one("#tabs", TabbedContent).active
        if tab in TABS:
            self._refresh(self._panel(tab))

    @staticmethod
    def _refresh(panel: ProvisioningPanel | UsersPanel | MappingsPanel) -> None:
        if isinstance(panel, UsersPanel):
            panel.refresh_loaded()
        else:
            panel.load()

    def action_help(self) -> None:
        """Every key of the screen the operator is on (built from its active bindings)."""
        if isinstance(self.screen, HelpScreen):
            return
        if self.screen is self.screen_stack[0]:
            tab = self.query_one("#tabs", TabbedContent).active
            title = str(getattr(PANELS.get(tab), "HELP_NAME", tab))
        else:
            screen = self.screen
            title = screen.sub_title or getattr(screen, "title_text", "") or "this dialog"
        self.push_screen(HelpScreen(self.screen, title))

    # ---- notifications -----------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (widgets' ``notify`` lands here) is plain, terminal-safe text:
        it often names a user, group or token, or carries an error that echoes input."""
        super().notify(
            safe_multiline(message),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # ---- errors ------------------------------------------------------------------------

    def on_store_call_failed(self, message: StoreCallFailed) -> None:
        self.notify(
            f"Could not {message.what}: {message.detail}",
            title=message.kind,
            severity="error",
            timeout=10,
            markup=False,
        )

    # ---- command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        showing_secret = any(isinstance(s, SecretDialog) for s in self.screen_stack)
        for command in super().get_system_commands(screen):
            if showing_secret and command.title == "Screenshot":
                continue  # a screenshot file would keep the token the dialog shows once
            yield command
        if screen is not self.screen_stack[0]:
            return
        commands: list[tuple[str, str, Callable[[], object]]] = [
            (
                "Show SCIM Provisioning",
                "Connections, tokens, Base URL, activity",
                lambda: self._go("provisioning"),
            ),
            ("Show User Management", "Users, roles, status", lambda: self._go("users")),
            ("Show group-to-role mapping", "IdP group -> role", lambda: self._go("mappings")),
            (
                "Generate SCIM token",
                "Issue a token for an IdP connection (shown once)",
                self._via("provisioning", "generate"),
            ),
            (
                "New IdP connection",
                "One identity provider: owns what its tokens create",
                self._via("provisioning", "new_connection"),
            ),
            (
                "Rotate SCIM token",
                "A new token for the selected connection; the old one stays until revoked",
                self._via("provisioning", "rotate"),
            ),
            ("Revoke SCIM token", "Revoke the selected token", self._via("provisioning", "revoke")),
            (
                "Copy SCIM Base URL",
                "Copy to the clipboard (OSC 52)",
                self._via("provisioning", "copy_url"),
            ),
            ("Search users", "Find users by name", self._via("users", "focus_search")),
            ("Add group-to-role mapping", "With a preview", self._via("mappings", "add")),
            ("Remove group-to-role mapping", "With a preview", self._via("mappings", "remove")),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    def _go(self, tab: str) -> None:
        self.action_show_tab(tab)

    def _via(self, tab: str, action: str) -> Callable[[], object]:
        def run() -> object:
            self.action_show_tab(tab)
            return getattr(self._panel(tab), f"action_{action}")()

        return run


def build_app(
    store: Store,
    settings: Settings,
    actor: str,
    clock: Callable[[], datetime] | None = None,
    refresh_seconds: float | None = 5.0,
    page_size: int = 100,
    search_debounce_seconds: float = 0.25,
) -> ControlApp:
    """The operator app on ``store``. ``actor`` is recorded on every change (e.g.
    ``operator:alice``); ``clock`` defaults to the store's; ``refresh_seconds=None`` turns
    the automatic refresh off (tests then refresh explicitly)."""
    ctx = TuiContext(
        store=store,
        settings=settings,
        actor=actor,
        clock=clock or store.clock,
        refresh_seconds=refresh_seconds,
        page_size=page_size,
        search_debounce_seconds=search_debounce_seconds,
    )
    return ControlApp(ctx)
