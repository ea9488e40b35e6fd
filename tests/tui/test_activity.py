"""The activity list made for troubleshooting: rows with status text, client and agent;
filters by status class, token and text; identical refusals folded; Enter for the full,
wrapped text of one request with a copy action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from textual.widgets import TextArea

from store.context import Store
from store.records import ActivityInput
from store.services.activity import record_activity
from tests.tui.conftest import move_to, press, settle, table_rows
from tests.tui.data import Seeded
from tui.app import ControlApp
from tui.screens.text_detail import TextDetailScreen
from tui.widgets.fitted_table import FittedTable

LONG_FILTER = (
    'userName eq "a@example.com" or (emails[type eq "work" and value co "@example.com"] '
    'and name.givenName sw "Al") or title eq "Engineer" and '
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"'
)


def _get(at: datetime, status: int, **fields: object) -> ActivityInput:
    """A logged GET /Users."""
    return ActivityInput(
        at=at, method="GET", path="/scim/v2/Users", status=status, latency_ms=1.0, **fields
    )  # type: ignore[arg-type]


def _refusals(store: Store, count: int = 14) -> None:
    """14 identical 429s over 20 s, an unknown token's 401 and an Entra invalidFilter."""
    now = store.clock()
    items = [
        _get(now - timedelta(seconds=20 - 20 * i / (count - 1)), 429, token_id=1,
             token_name="Okta SCIM", connection="Okta", client="10.0.0.8",
             detail="Too many requests for this token", user_agent="Okta SCIM Client 1.0.0")
        for i in range(count)
    ]  # fmt: skip
    items.append(
        _get(now - timedelta(seconds=30), 401, token_name="unknown tscim_AbCd…",
             client="203.0.113.7", detail="Invalid or revoked token", user_agent="curl/8.5")
    )  # fmt: skip
    items.append(
        _get(now - timedelta(seconds=40), 400, token_name="Entra ID", connection="Entra ID",
             client="10.0.0.9",
             query=LONG_FILTER, scim_type="invalidFilter",
             detail="filter attribute 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
             "User:department' is not supported")
    )  # fmt: skip
    record_activity(store, items)


def _code(status_cell: str) -> int:
    words = status_cell.split()
    return int(words[1] if "×" in words[0] else words[0])


async def test_identical_refusals_fold_and_a_401_names_the_unknown_prefix(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    _refusals(tui_store)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rows = table_rows(app, "#activity")
        statuses = [r[5] for r in rows]
        # 14 refusals: the request log already folds them per minute, the view folds the rest
        assert statuses[0].startswith("14× 429 within ")  # the span is known to the minute
        assert statuses[1:5] == [
            "401 Unauthorized",
            "400 Bad Request",
            "400 Bad Request",
            "204 No Content",
        ]
        assert rows[1][1:3] == ("-", "unknown tscim_AbCd…")
        assert rows[1][6:] == ("203.0.113.7", "curl/8.5")
        assert rows[0][1:3] == ("Okta", "Okta SCIM")


async def test_filters_by_status_class_connection_token_and_text(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    _refusals(tui_store)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f")  # errors
        codes = [_code(r[5]) for r in table_rows(app, "#activity")]
        assert codes == [429, 401, 400, 400]
        assert "status error" in str(app.query_one("#activity-filters").render())
        await press(pilot, "f", "f")  # 4xx, then 5xx: nothing
        assert table_rows(app, "#activity") == []
        await press(pilot, "f", "f")  # 2xx, then any
        move_to(app, "#connections", "└ Entra ID")  # the token
        await press(pilot, "t")
        assert {r[2] for r in table_rows(app, "#activity")} == {"Entra ID"}
        assert "token Entra ID" in str(app.query_one("#activity-filters").render())
        await press(pilot, "t")  # off again
        move_to(app, "#connections", "Okta")  # the connection
        await press(pilot, "t")
        assert {r[1] for r in table_rows(app, "#activity")} == {"Okta"}
        assert len(table_rows(app, "#activity")) == 5  # the 429 run and the seeded four
        assert "connection Okta" in str(app.query_one("#activity-filters").render())
        await pilot.press("t")  # off again
        await press(pilot, "slash", *"203.0.113", "enter")
        assert [r[2] for r in table_rows(app, "#activity")] == ["unknown tscim_AbCd…"]
        assert app.focused is app.query_one("#activity")


async def test_escape_leaves_the_filter_box(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "q")
        assert app.focused is app.query_one("#activity-filter")
        await pilot.press("escape")
        assert app.focused is app.query_one("#activity")
        assert app.is_running


async def test_enter_opens_the_full_filter_and_error_wrapped_with_copy(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    _refusals(tui_store)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f")  # errors only
        table = app.query_one("#activity", FittedTable)
        table.focus()
        table.move_cursor(row=2)
        await press(pilot, "enter")
        assert isinstance(app.screen, TextDetailScreen)
        text = app.screen.query_one("#detail-text", TextArea)
        assert LONG_FILTER in text.text
        assert "User:department' is not supported" in text.text
        assert text.soft_wrap and text.read_only
        await pilot.press("c")
        assert app.clipboard == app.screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, TextDetailScreen)


async def test_filter_text_is_shown_as_typed_never_as_markup(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"[b]x[/b]", "enter")
        assert "text “[b]x[/b]”" in str(app.query_one("#activity-filters").render())
        assert table_rows(app, "#activity") == []
