"""The group-to-role mapping panel: list, add and remove, each after a preview of who gains
or loses which role, driven through Pilot against a real store."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from store.context import Store
from store.domain.scope import OPERATOR
from store.queries.identity import audit_events, list_mappings, user_detail
from store.records import GroupInput
from store.services import groups, member_batches, role_sync
from store.services.groups import create_group
from store.services.maintenance import reconcile_roles
from tests.store.test_users_helpers import bulk_users
from tests.tui.conftest import move_to, press, settle, table_rows, wait_until
from tests.tui.data import Seeded, make_group, make_user
from tui.app import ControlApp
from tui.messages import MappingProgress
from tui.screens.mapping_dialog import MappingDialog
from tui.screens.mappings import MappingsPanel
from tui.widgets.fitted_table import FittedTable


def _pairs(store: Store) -> list[tuple[str, str]]:
    return [(m.group_name, m.role) for m in list_mappings(store)]


def _idp_roles(store: Store, user_name: str) -> set[str]:
    return {r.role for r in user_detail(store, user_name).roles if r.source == "idp"}


async def _open_mappings(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await press(pilot, "3")


async def _dialog(app: ControlApp, pilot: Pilot[None], key: str, typed: str = "") -> MappingDialog:
    """The dialog ``key`` opens on the mapping panel (a: add, x: remove), ``typed`` typed
    into it."""
    await pilot.press(key, *typed)
    dialog = app.screen
    assert isinstance(dialog, MappingDialog)
    return dialog


async def _previewed(pilot: Pilot[None], dialog: MappingDialog, seconds: float = 5.0) -> None:
    """Until the preview of what the dialog holds is shown (Save is enabled by it only)."""
    await wait_until(pilot, lambda: not dialog.query_one("#save", Button).disabled, seconds)


def _summary(dialog: MappingDialog) -> str:
    return str(dialog.query_one("#preview-summary", Static).render())


async def test_lists_the_mapping(seeded: Seeded, make_app: Callable[..., ControlApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_mappings(pilot)
        rows = table_rows(app, "#mapping-table")
        assert [r[:3] for r in rows] == [
            ("Engineering", "operator", "any"),
            ("Viewers", "viewer", "any"),
        ]
        assert rows[0][4] == "operator:tester"


async def test_add_previews_who_gains_before_saving(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a")
        await pilot.press(*"support")  # IdP group names match case-insensitively
        dialog.query_one("#role", Select).value = "admin"
        await settle(pilot)
        await _previewed(pilot, dialog)
        assert table_rows(app, "#preview") == [("dave@example.com", "admin", "gains")]
        assert "1 role gain(s), 0 role loss(es)" in _summary(dialog)
        assert _pairs(tui_store) == [("Engineering", "operator"), ("Viewers", "viewer")]
        await pilot.click("#save")
        await settle(pilot)
        assert ("support", "admin") in _pairs(tui_store)
        assert _idp_roles(tui_store, "dave@example.com") == {"admin"}
        assert audit_events(tui_store, "mapping", None, 1)[0].actor == "operator:tester"
        assert ("support", "admin") in [r[:2] for r in table_rows(app, "#mapping-table")]


async def test_save_waits_for_the_preview_of_what_is_typed(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app(search_debounce_seconds=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a")
        dialog.query_one("#role", Select).value = "viewer"
        await press(pilot, *"Engineering")
        await _previewed(pilot, dialog)
        # bob is in Engineering too, but inactive: he holds no IdP role either way
        assert table_rows(app, "#preview") == [("alice@example.com", "viewer", "gains")]
        await pilot.press("x")  # typing changes the group: the old preview no longer applies
        save = dialog.query_one("#save", Button)
        # Save is enabled again only by the preview of what is now typed (on a loaded machine
        # that preview may already be back once the key is processed).
        assert save.disabled or dialog.previewed == dialog.current()
        await wait_until(pilot, lambda: not save.disabled)
        assert dialog.previewed == dialog.current() == ("Engineeringx", "viewer", None)


async def test_remove_previews_who_loses_then_removes(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_mappings(pilot)
        table = app.query_one("#mapping-table", FittedTable)
        assert table.cells_of(table.current_key or "")[:2] == ("Engineering", "operator")  # type: ignore[index]
        dialog = await _dialog(app, pilot, "x")
        await settle(pilot)
        await _previewed(pilot, dialog)
        assert table_rows(app, "#preview") == [("alice@example.com", "operator", "loses")]
        await pilot.click("#save")
        await settle(pilot)
        assert _pairs(tui_store) == [("Viewers", "viewer")]
        assert _idp_roles(tui_store, "alice@example.com") == set()
        assert [r[:2] for r in table_rows(app, "#mapping-table")] == [("Viewers", "viewer")]


async def test_cancel_changes_nothing(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_mappings(pilot)
        await press(pilot, "x")
        await press(pilot, "escape")
        assert not isinstance(app.screen, MappingDialog)
        assert _pairs(tui_store) == [("Engineering", "operator"), ("Viewers", "viewer")]
        assert _idp_roles(tui_store, "alice@example.com") == {"operator"}


def _visible(app: ControlApp, selector: str) -> bool:
    """The widget is what the operator sees at its own centre (not cut off or covered)."""
    widget = app.screen.query_one(selector)
    x, y = widget.region.center
    return app.screen.get_widget_at(x, y)[0] is widget


async def test_a_misspelt_group_is_warned_about_with_the_closest_names(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a", "Enginering")
        await wait_until(pilot, lambda: dialog.known is not None)
        await settle(pilot)
        warning = str(dialog.query_one("#group-warning", Static).render())
        assert "No IdP has pushed a group named “Enginering”" in warning
        assert "Did you mean “Engineering”?" in warning
        await pilot.press("ctrl+g")
        assert dialog.query_one("#group", Input).value == "Engineering"
        await settle(pilot)
        assert str(dialog.query_one("#group-warning", Static).render()) == ""


async def test_save_and_cancel_stay_visible_with_an_empty_preview(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a", "Nobody Here")
        dialog.query_one("#role", Select).value = "viewer"
        await _previewed(pilot, dialog)
        await settle(pilot)
        summary = _summary(dialog)
        assert "nobody's roles change" in summary
        for button in ("#save", "#cancel"):
            assert _visible(app, button), button
        assert not dialog.query_one("#preview-loading").display


async def test_a_large_group_preview_counts_and_does_not_block(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    from tests.tui.data import add_member

    for i in range(600):
        add_member(
            tui_store, seeded.groups["Support"], make_user(tui_store, f"u{i:03d}@x.io", f"U {i}")
        )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a", "Support")
        dialog.query_one("#role", Select).value = "admin"
        await _previewed(pilot, dialog, 20)
        summary = _summary(dialog)
        assert "601 role gain(s), 0 role loss(es) for 601 user(s), first 500 listed" in summary
        assert "It matches in any connection: “Support” of Okta (601 member(s))." in summary
        assert len(table_rows(app, "#preview")) == 500


async def test_saving_reports_the_recomputation_progress(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    progress: list[tuple[int, int]] = []

    def hook(message: object) -> None:
        if isinstance(message, MappingProgress):
            progress.append((message.done, message.total))

    app = make_app()
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a")
        await pilot.press(*"support")
        dialog.query_one("#role", Select).value = "admin"
        await settle(pilot)
        await _previewed(pilot, dialog)
        await pilot.click("#save")
        await wait_until(pilot, lambda: ("support", "admin") in _pairs(tui_store))
        await settle(pilot)
    assert progress and progress[-1][0] == progress[-1][1] >= 1


async def test_a_row_for_one_connection_matches_only_its_groups_and_says_which(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    """Entra ID pushes an "Engineering" of its own: a row for Okta's leaves its members."""
    erin = make_user(tui_store, "erin.entra@example.com", "Erin Entra", connection="Entra ID")
    make_group(tui_store, "Engineering", [erin], connection="Entra ID")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a", "engineering")
        dialog.query_one("#role", Select).value = "viewer"
        await _previewed(pilot, dialog)
        summary = _summary(dialog)
        assert (
            "It matches in any connection: “Engineering” of Entra ID (1 member(s)), "
            "“Engineering” of Okta (2 member(s))." in summary
        )
        assert table_rows(app, "#preview") == [
            ("alice@example.com", "viewer", "gains"),
            ("erin.entra@example.com", "viewer", "gains"),
        ]
        dialog.query_one("#connection", Select).value = "Okta"
        await settle(pilot)
        await wait_until(pilot, lambda: dialog.previewed == ("engineering", "viewer", "Okta"))
        summary = _summary(dialog)
        assert "It matches in connection “Okta”: “Engineering” of Okta (2 member(s))." in summary
        assert table_rows(app, "#preview") == [("alice@example.com", "viewer", "gains")]
        await pilot.click("#save")
        await wait_until(pilot, lambda: ("engineering", "viewer") in _pairs(tui_store))
        await settle(pilot)
        saved = [m for m in list_mappings(tui_store) if m.group_name == "engineering"]
        assert [(m.role, m.connection) for m in saved] == [("viewer", "Okta")]
        assert _idp_roles(tui_store, "alice@example.com") == {"operator", "viewer"}
        assert _idp_roles(tui_store, "erin.entra@example.com") == {"operator"}  # the any row
        assert ("engineering", "viewer", "Okta") in [
            r[:3] for r in table_rows(app, "#mapping-table")
        ]

        move_to(app, "#mapping-table", "engineering")
        dialog = await _dialog(app, pilot, "x")
        body = "".join(str(w.render()) for w in dialog.query(".dialog-body"))
        assert "IdP group “engineering” of connection Okta -> role viewer" in body
        await _previewed(pilot, dialog)
        assert table_rows(app, "#preview") == [("alice@example.com", "viewer", "loses")]
        await pilot.click("#save")
        await wait_until(pilot, lambda: ("engineering", "viewer") not in _pairs(tui_store))
        assert _idp_roles(tui_store, "alice@example.com") == {"operator"}


async def test_a_group_no_connection_has_yet_is_said_so(
    seeded: Seeded, make_app: Callable[..., ControlApp]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_mappings(pilot)
        dialog = await _dialog(app, pilot, "a", "Support")
        dialog.query_one("#role", Select).value = "admin"
        dialog.query_one("#connection", Select).value = "Entra ID"
        await wait_until(pilot, lambda: dialog.previewed == ("Support", "admin", "Entra ID"))
        summary = _summary(dialog)
        assert "nobody's roles change" in summary
        assert "It matches no group yet in connection “Entra ID”." in summary


async def test_lists_a_large_change_with_its_progress(
    seeded: Seeded, make_app: Callable[..., ControlApp], tui_store: Store
) -> None:
    """A large member replacement an IdP pushed, stopped after its first batch: the panel
    lists it with its progress; once the worker finished it, the line goes."""
    batch = role_sync.BATCH
    users = bulk_users(tui_store, batch + 100)
    group = create_group(tui_store, GroupInput("All Staff", {}), (), "idp:okta")
    data = GroupInput("All Staff", {})
    _record, queued = groups._replace_group(
        tui_store, group.id, data, tuple(users), "idp:okta", None, OPERATOR
    )
    plan = member_batches._plan(tui_store, queued[0])
    assert plan is not None and member_batches._step(tui_store, queued[0], plan) is not None
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_mappings(pilot)
        changes = app.query_one("#mapping-changes", Static)
        assert changes.display
        text = str(changes.render())
        assert "All Staff: members moving" in text and f"{batch} of {batch + 100} member(s)" in text
        reconcile_roles(tui_store)
        app.query_one(MappingsPanel).load_again()
        await settle(pilot)
        assert not changes.display
