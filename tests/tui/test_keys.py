"""Help and keys: ``?``/F1 list every key of the current screen, dialogs show their own
keys, Escape leaves search boxes, one key per meaning across panels, and statuses that read
without colour at a contrast of at least 4.5:1."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.style import Style
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from store.context import Store
from store.services.tokens import revoke_token
from tests.tui.conftest import settle
from tests.tui.data import OPERATOR, Seeded
from tui.app import ControlApp
from tui.screens.dialogs import SecretDialog
from tui.screens.help import HelpScreen
from tui.screens.mappings import MappingsPanel
from tui.screens.provisioning import ProvisioningPanel
from tui.screens.user_detail import UserDetailScreen
from tui.screens.users import UsersPanel
from tui.widgets.fitted_table import FittedTable


def _help_rows(app: ControlApp) -> list[tuple[str, str, str]]:
    table = app.screen.query_one("#help-keys", DataTable)
    return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]  # type: ignore[misc]


def _footer_keys(app: ControlApp) -> set[str]:
    return {key.description for key in app.screen.query(FooterKey)}


async def test_question_mark_and_f1_list_the_keys_of_the_screen(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {(key, what) for key, what, _ in _help_rows(app)}
        assert {
            ("a", "Add token"),
            ("x", "Revoke"),
            ("c", "Copy URL"),
            ("/", "Filter"),
            ("f", "Status filter"),
            ("t", "Connection/token filter"),
            ("n", "New connection"),
            ("o", "Rotate token"),
            ("q", "Quit"),
        } <= rows
        assert ("a", "Add token", "SCIM Provisioning panel") in _help_rows(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        keys = {what for _, what, _ in _help_rows(app)}
        assert "Keys: User Management panel" in str(app.screen.query_one(".dialog-title").render())
        assert {"Search", "Status filter", "Open"} <= keys and "Add token" not in keys
        await pilot.press("f1")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_in_the_user_detail_offers_only_what_applies(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        await pilot.press("question_mark")
        rows = {(key, what) for key, what, _ in _help_rows(app)}
        expected = {
            ("a", "Add role"),
            ("x", "Revoke role"),
            ("d", "Deactivate"),
            ("s", "End session"),
            ("e", "End all sessions"),
            ("esc", "Back"),
        }
        assert expected <= rows
        assert ("d", "Reactivate") not in rows  # alice is active
        # The screen's own keys come first: at 80x24 they are the rows an operator sees.
        ordered = [what for _, what, _ in _help_rows(app)]
        first_scroll = min(i for i, what in enumerate(ordered) if what.startswith("Scroll"))
        assert max(ordered.index(what) for _, what in expected) < first_scroll


async def test_dialogs_show_their_own_keys(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "Copy URL" in _footer_keys(app)
        await pilot.press("a", *"Dialog keys", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SecretDialog)
        keys = _footer_keys(app)
        assert {"Copy token", "I have stored it"} <= keys
        assert "Copy URL" not in keys and "Add token" not in keys
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("x")  # revoke: a confirm dialog shows its confirm key
        keys = _footer_keys(app)
        assert {"Confirm", "Cancel"} <= keys and "Copy URL" not in keys


async def test_escape_leaves_the_user_search_box(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", "q", "1")
        assert app.query_one("#user-search").value == "q1"  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert app.focused is app.query_one("#user-table")
        await pilot.press("1")  # a key again, not text
        assert app.query_one("#tabs").active == "provisioning"  # type: ignore[attr-defined]


def _bindings(cls: type) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for binding in cls.BINDINGS:  # type: ignore[attr-defined]
        for key in binding.key.split(","):
            found.setdefault(key, set()).add(binding.description)
    return found


def test_one_key_per_meaning_across_panels() -> None:
    screens = [ProvisioningPanel, UsersPanel, MappingsPanel, UserDetailScreen]
    meanings = {
        "a": ("Add",),
        "x": ("Revoke", "Remove"),
        "c": ("Copy",),
        "slash": ("Search", "Filter"),
        "f": ("Status filter",),
        "d": ("Deactivate", "Reactivate"),
        "n": ("New connection",),
        "o": ("Rotate",),
    }
    for cls in screens:
        for key, descriptions in _bindings(cls).items():
            for description in descriptions:
                if key in meanings:
                    assert description.startswith(meanings[key]), (cls.__name__, key, description)
    # revoke is the same key for tokens and roles
    assert _bindings(ProvisioningPanel)["x"] == {"Revoke"}
    assert _bindings(UserDetailScreen)["x"] == {"Revoke role"}


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(style: Style) -> float:
    assert style.color is not None and style.bgcolor is not None
    fg = _luminance(style.color.get_truecolor())  # type: ignore[arg-type]
    bg = _luminance(style.bgcolor.get_truecolor())  # type: ignore[arg-type]
    light, dark = max(fg, bg), min(fg, bg)
    return (light + 0.05) / (dark + 0.05)


def _status_styles(app: ControlApp, selector: str, words: tuple[str, ...]) -> dict[str, Style]:
    """The final style (after the app's colour filters, NO_COLOR included) of each status."""
    table = app.query_one(selector, FittedTable)
    found: dict[str, Style] = {}
    background = table.background_colors[1]
    for y in range(table.size.height):
        strip = table.render_line(y)
        for line_filter in app._filters:
            strip = strip.apply_filter(line_filter, background)
        for segment in strip:
            for word in words:
                if segment.text.strip() == word and segment.style is not None:
                    found.setdefault(word, segment.style)
    return found


@pytest.mark.parametrize("no_color", [False, True], ids=["theme", "NO_COLOR"])
async def test_statuses_read_by_marker_and_contrast(
    seeded: Seeded,
    make_app: Callable[..., ControlApp],
    tui_store: Store,
    monkeypatch: pytest.MonkeyPatch,
    no_color: bool,
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    revoke_token(tui_store, "Entra ID", OPERATOR)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tokens = _status_styles(app, "#connections", ("✕ revoked",))
        await pilot.press("2")
        await settle(pilot)
        users = _status_styles(app, "#user-table", ("○ inactive",))
        for word, style in {**tokens, **users}.items():
            assert _contrast(style) >= 4.5, (word, style)
        assert set(tokens) == {"✕ revoked"} and set(users) == {"○ inactive"}
