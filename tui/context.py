"""What every panel and dialog of the operator UI is given: the store, who acts, and time.

Built once by ``tui.app.build_app`` and passed to each screen's constructor, so screens never
reach for globals and tests can hand in a fixed clock and short refresh intervals. It holds
no Textual objects and no database rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from store.config import Settings
from store.context import Store


@dataclass(frozen=True)
class TuiContext:
    store: Store
    settings: Settings
    actor: str
    """Who operator actions are recorded as, e.g. ``operator:alice``."""
    clock: Callable[[], datetime]
    """Current time (naive values are UTC), used for relative times like "3 min ago"."""
    refresh_seconds: float | None = 5.0
    """Period of the panels' automatic refresh; None turns it off (tests refresh by hand)."""
    page_size: int = 100
    """Users fetched per page of the user list."""
    search_debounce_seconds: float = 0.25
    """Quiet time after the last keystroke in a search box before the search runs."""

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        value = self.clock()
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def release_connection(self) -> None:
        """Close the calling worker thread's database connection (threads are short-lived)."""
        self.store.close()
