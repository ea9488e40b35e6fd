"""The behaviour every top-level panel shares: load on mount, then refresh by itself every
few seconds while it is the one on screen (an IdP's changes appear without a key press)."""

from __future__ import annotations

from typing import Any

from textual.containers import Vertical


class RefreshingPanel(Vertical):
    """A panel with ``load_initial`` (on mount) and ``load_again`` (each refresh tick)."""

    ctx: Any

    def on_mount(self) -> None:
        self.load_initial()
        if self.ctx.refresh_seconds:
            self.set_interval(self.ctx.refresh_seconds, self.refresh_if_visible)

    def refresh_if_visible(self) -> None:
        if self.screen.is_current and self.display and self.is_on_screen:
            self.load_again()

    def load_initial(self) -> None:
        self.load_again()

    def load_again(self) -> None:
        raise NotImplementedError
