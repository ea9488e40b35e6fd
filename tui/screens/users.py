"""The User Management panel: every user with status, roles and their source, searchable
and loaded page by page so 100,000 users cost no more than the rows on screen.

Pages come from ``store.queries.directory.search_users`` in thread workers; the search box
is debounced; scrolling near the end of the loaded rows fetches the next page; a timer
refreshes the loaded rows so a user the IdP deactivates turns inactive without a key press.
Enter opens the user's detail. No Pony, no product rules here.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import get_current_worker

from store.domain.display import safe_text
from store.queries.directory import MAX_PAGE, search_users
from store.records import Page, UserSummary
from tui.calls import store_call
from tui.context import TuiContext
from tui.format import relative, roles_summary, status_word
from tui.messages import UsersLoaded
from tui.screens.user_detail import UserDetailScreen
from tui.widgets.fitted_table import ColumnSpec, FittedTable
from tui.widgets.panel import RefreshingPanel

USER_COLUMNS = (
    ColumnSpec("user_name", "userName", 17, 3),
    ColumnSpec("display_name", "Display name", 12, 2),
    ColumnSpec("status", "Status", 8, 0, (("inactive", "red"), ("unassigned", "red"))),
    ColumnSpec("roles", "Roles (source)", 14, 7),
    ColumnSpec("changed", "Last change", 11, 0),
)
STATUS_FILTERS: tuple[str | None, ...] = (None, "active", "inactive")
PREFETCH_ROWS = 20
"""Fetch the next page when the cursor comes this close to the last loaded row."""


@dataclass(frozen=True)
class UserQuery:
    """What one fetch asks for: fixed when asked, so typing on cannot change it midway."""

    text: str
    status: str | None
    offset: int
    limit: int


class UsersPanel(RefreshingPanel):
    """Settings -> User Management: the user list."""

    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("f", "cycle_status", "Status filter"),
        Binding("enter", "open_user", "Details", show=True),
    ]

    def __init__(self, ctx: TuiContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.text = ""
        self.status: str | None = None
        self.users: list[UserSummary] = []
        self.total = 0
        self.generation = 0
        self.shown_generation = 0  # the generation whose rows are on screen
        self.loading_more = False
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="user-search-row"):
            yield Label("Search ", classes="field-label")
            yield Input(
                placeholder="userName or display name (press / to search)",
                id="user-search",
                compact=True,
            )
        yield Label("", id="user-count")
        yield FittedTable(USER_COLUMNS, id="user-table")
        yield Static("", id="user-hint")

    def load_initial(self) -> None:
        self.reload()

    def load_again(self) -> None:
        self.refresh_loaded()

    def focus_main(self) -> None:
        self.query_one("#user-table", FittedTable).focus()

    # ---- loading -----------------------------------------------------------------------

    def reload(self) -> None:
        """Start the current search again from its first page."""
        self._request(0, self.ctx.page_size, append=False)

    def refresh_loaded(self) -> None:
        """Re-read every row already loaded (at least one page) so changes show up, keeping
        the operator's place in a long list."""
        self._request(0, max(len(self.users), self.ctx.page_size), append=False)

    def _load_more(self) -> None:
        self.loading_more = True
        self._request(len(self.users), self.ctx.page_size, append=True, new_generation=False)

    def _request(self, offset: int, limit: int, append: bool, new_generation: bool = True) -> None:
        if new_generation:
            self.generation += 1
            self.loading_more = False
        query = UserQuery(self.text, self.status, offset, limit)
        self.fetch(self.generation, query, append)

    @work(thread=True, exclusive=True, group="users-load")
    def fetch(self, generation: int, query: UserQuery, append: bool) -> None:
        """One page, or several in a row when a refresh covers more than a page may hold."""
        with store_call(self.ctx, self.app, "load users"):
            items: list[UserSummary] = []
            offset, end = query.offset, query.offset + query.limit
            while True:
                size = min(MAX_PAGE, end - offset)
                page = search_users(self.ctx.store, query.text, offset, size, query.status)
                items.extend(page.items)
                offset += size
                if offset >= end or len(page.items) < size or get_current_worker().is_cancelled:
                    break
            if not get_current_worker().is_cancelled:
                whole = Page(tuple(items), page.total, query.offset + 1)
                self.post_message(UsersLoaded(generation, whole, append))

    def on_users_loaded(self, message: UsersLoaded) -> None:
        if message.generation != self.generation:
            return  # an older search answered after a newer one started
        table = self.query_one("#user-table", FittedTable)
        rows = [(u.id, self._cells(u)) for u in message.page.items]
        if message.append:
            self.users.extend(message.page.items)
            table.append_rows(rows)
            self.loading_more = False
        else:
            self.users = list(message.page.items)
            table.set_rows(rows)
        self.total = message.page.total
        self.shown_generation = message.generation
        self._show_count()

    def _cells(self, u: UserSummary) -> tuple[str, ...]:
        return (
            u.user_name,
            u.display_name or "",
            status_word(u.active),
            roles_summary(u.roles),
            relative(u.last_modified, self.ctx.now()),
        )

    def _show_count(self) -> None:
        shown = len(self.users)
        what = {None: "users", "active": "active users", "inactive": "inactive users"}[self.status]
        match = f" matching “{safe_text(self.text)}”" if self.text else ""
        text = f"{shown:,} of {self.total:,} {what}{match} loaded · Enter: details · f: filter"
        if not self.total:
            text = f"No {what}{match}."
        self.query_one("#user-count", Label).update(Text(text))

    @on(DataTable.RowHighlighted, "#user-table")
    def _maybe_load_more(self, event: DataTable.RowHighlighted) -> None:
        near_end = event.cursor_row >= len(self.users) - PREFETCH_ROWS
        settled = self.shown_generation == self.generation  # no newer search on its way
        if near_end and settled and len(self.users) < self.total and not self.loading_more:
            self._load_more()

    # ---- search ------------------------------------------------------------------------

    @on(Input.Changed, "#user-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(
            self.ctx.search_debounce_seconds, lambda: self.search(event.value)
        )

    @on(Input.Submitted, "#user-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self.search(event.value)
        self.focus_main()

    def search(self, text: str) -> None:
        self.text = text.strip()
        self.reload()

    def action_focus_search(self) -> None:
        self.query_one("#user-search", Input).focus()

    def action_cycle_status(self) -> None:
        index = STATUS_FILTERS.index(self.status)
        self.status = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]
        self.reload()

    # ---- detail ------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#user-table")
    def action_open_user(self) -> None:
        key = self.query_one("#user-table", FittedTable).current_key
        if key is None:
            return
        self.app.push_screen(UserDetailScreen(self.ctx, key), lambda _: self.refresh_loaded())
