"""The mapping preview on SQLite and PostgreSQL: in batches, with progress, it lists exactly
the role changes that applying the edit then makes (manual grants, inactive and deleted users,
users in several mapped groups, batch boundaries), and a progress callback that raises stops
it with nothing written."""

from __future__ import annotations

import pytest
from pony.orm import db_session

from store.context import Store
from store.services import roles as roles_service
from store.services.lifecycle import deactivate_user
from store.services.roles import (
    ensure_default_roles,
    grant_role,
    preview_mapping_change,
    remove_mapping,
    set_mapping,
)
from tests.store.identity_factories import make_group, make_user, soft_delete_user

ADMIN = "operator:alice"
Change = tuple[str, str, str]


def _directory(store: Store) -> None:
    """Two mapped groups that overlap, an unmapped one, manual grants, an inactive and a
    deleted member."""
    ensure_default_roles(store)
    ids = [make_user(store, f"u{i:02d}@example.com") for i in range(16)]
    make_group(store, "Eng", members=tuple(ids[0:10]))
    make_group(store, "Ops", members=tuple(ids[5:15]))
    make_group(store, "Solo", members=(ids[15],))
    set_mapping(store, "Eng", "operator", ADMIN)
    set_mapping(store, "Ops", "viewer", ADMIN)
    grant_role(store, "u01@example.com", "admin", ADMIN)
    grant_role(store, "u06@example.com", "viewer", ADMIN)
    deactivate_user(store, ids[3], ADMIN, "left")
    soft_delete_user(store, ids[7])


def _effective(store: Store) -> dict[str, set[str]]:
    """Every live active user's roles, IdP and manual alike."""
    with db_session:
        users = store.db.User.select(lambda u: u.active and u.deleted_at is None)
        return {
            u.user_name: {a.role.name for a in u.role_assignments if a.source in ("idp", "manual")}
            for u in users
        }


def _changes(before: dict[str, set[str]], after: dict[str, set[str]]) -> list[Change]:
    found: list[Change] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, set()), after.get(name, set())
        found += [(name, role, "gain") for role in new - old]
        found += [(name, role, "lose") for role in old - new]
    return sorted(found)


EDITS = {
    "add admin to Eng": ([("ENG ", "admin")], []),
    "remove viewer from Ops": ([], [("ops", "viewer")]),
    "add operator to Ops": ([("Ops", "operator")], []),
    "remove operator from Eng": ([], [("Eng", "operator")]),
    "map the unmapped group": ([("solo", "admin")], []),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_the_preview_lists_what_applying_the_edit_changes(
    store: Store, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    _directory(store)
    add, remove = EDITS[edit]
    whole = preview_mapping_change(store, add, remove)
    monkeypatch.setattr(roles_service, "PREVIEW_BATCH", 3)  # batch boundaries everywhere
    reports: list[tuple[int, int]] = []
    batched = preview_mapping_change(store, add, remove, lambda *p: reports.append(p))
    assert batched == whole and whole  # every edit here changes someone's roles

    members = reports[0][1]
    assert reports == [(0, members)] + [
        (min(done, members), members) for done in range(3, members + 3, 3)
    ]
    before = _effective(store)
    for group, role in add:
        set_mapping(store, group, role, ADMIN)
    for group, role in remove:
        remove_mapping(store, group, role, ADMIN)
    assert _changes(before, _effective(store)) == whole


def test_a_progress_callback_that_raises_stops_the_preview(store: Store) -> None:
    _directory(store)

    class Stop(Exception):
        pass

    calls: list[tuple[int, int]] = []

    def stop_after_counting(done: int, total: int) -> None:
        calls.append((done, total))
        if done > 0:
            raise Stop

    with pytest.raises(Stop):
        preview_mapping_change(store, [("Eng", "admin")], [], stop_after_counting)
    assert len(calls) == 2 and calls[0][0] == 0  # counted, one batch, then stopped
    assert preview_mapping_change(store, [], []) == []
