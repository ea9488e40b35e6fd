"""The user detail screen addresses its user by id: a look-alike whose userName is the
viewed user's id is never the one shown, granted a role, or deactivated."""

from __future__ import annotations

from collections.abc import Callable

from pony.orm import db_session
from textual.widgets import Static

from store.context import Store
from store.queries.identity import user_detail
from store.records import UserInput
from store.services.roles import ensure_default_roles, grant_role
from store.services.users import replace_user
from tests.store.identity_factories import make_user, roles_of
from tests.tui.conftest import settle, table_rows
from tests.tui.data import Seeded
from tests.tui.test_users import _open_detail, _open_users
from tui.app import ControlApp
from tui.screens.dialogs import ChoiceDialog
from tui.widgets.fitted_table import FittedTable


async def test_detail_actions_reach_the_user_by_id(
    tui_store: Store, make_app: Callable[..., ControlApp]
) -> None:
    ensure_default_roles(tui_store)
    victim = make_user(tui_store, "victim@example.com")
    lookalike = make_user(tui_store, victim)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_detail(app, pilot, "victim@example.com")
        summary = str(app.screen.query_one("#user-summary", Static).render())
        assert summary.startswith("victim@example.com") and f"id {victim}" in summary
        await pilot.press("g")
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")  # admin
        await settle(pilot)
        assert roles_of(tui_store, victim) == {("admin", "manual")}
        assert roles_of(tui_store, lookalike) == set()
        await pilot.press("e")
        await pilot.click("#confirm")
        await settle(pilot)
        await pilot.press("d")
        await pilot.click("#confirm")
        await settle(pilot)
    assert not user_detail(tui_store, victim, by_id=True).user.active
    assert user_detail(tui_store, lookalike, by_id=True).user.active


async def test_a_rename_holding_manual_roles_is_notable_in_provisioning_and_detail(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    dave = seeded.users["dave@example.com"]
    with db_session:  # a name stored before names were checked
        tui_store.db.User[dave].user_name = "dave\x1b[31m\u202e@example.com"
    grant_role(tui_store, dave, "admin", "operator:tester", by_id=True)
    replace_user(tui_store, dave, UserInput("mallory@example.com", {}), "token:Okta SCIM")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        notable = str(app.screen.query_one("#notable", Static).render())
        assert "token:Okta SCIM renamed 'dave\\x1b[31m\\u202e@example.com' -> 'mallory" in notable
        assert "manual admin suspended" in notable and "\x1b" not in notable
        await _open_users(pilot)
        table = app.query_one("#user-table", FittedTable)
        row = [table.row_keys.index(k) for k in table.row_keys if k == dave][0]
        table.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        roles = [r[:2] for r in table_rows(app, "#user-roles")]
        assert ("admin", "suspended") in roles
        actions = [r[2] for r in table_rows(app, "#user-audit")]
        assert "user.renamed" in actions


async def test_deactivate_from_the_detail_screen_holds_against_the_idp(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    alice = seeded.users["alice@example.com"]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_detail(app, pilot, "alice@example.com")
        await pilot.press("d")
        await pilot.click("#confirm")
        await settle(pilot)
        profile = UserInput("alice@example.com", {}, active=True)
        replace_user(tui_store, alice, profile, "token:Okta SCIM")
        assert not user_detail(tui_store, alice, by_id=True).user.active
        await pilot.press("r")
        await settle(pilot)
        summary = str(app.screen.query_one("#user-summary", Static).render())
        assert "Status: INACTIVE" in summary
        assert "OPERATOR HOLD" in summary and "by operator:tester" in summary
        assert "IdP says: active" in summary
        await pilot.press("a")
        await pilot.click("#confirm")
        await settle(pilot)
        detail = user_detail(tui_store, alice, by_id=True)
        assert detail.user.active and detail.hold is None
