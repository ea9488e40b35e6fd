"""A user PATCH or PUT writes the user's row once: one ``UPDATE scim_user`` carries the
attributes, the active flag, the version and lastModified together, whatever else the
change does (ending sessions, recomputing roles, suspending manual roles)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from store import sql
from store.context import Store
from store.queries.identity import audit_events, user_detail
from store.records import UserInput, UserRecord
from store.services.lifecycle import deactivate_user
from store.services.users import modify_user, replace_user
from tests.store.test_users_helpers import (
    ACTOR,
    grant_manual,
    mapped_role,
    new_user,
    user_input,
)
from tests.support import FakeClock


def _user_update_texts(store: Store) -> dict[str, int]:
    return {
        text: count
        for text, count in sql.statement_counts(store.db).items()
        if text.lstrip().startswith('UPDATE "scim_user"')
    }


def _user_updates(store: Store) -> int:
    return sum(_user_update_texts(store).values())


def _patch(**changes: object):  # noqa: ANN202 - a transform for modify_user
    def transform(record: UserRecord) -> UserInput:
        document = {**record.document, **{k: v for k, v in changes.items() if k != "user_name"}}
        name = str(changes.get("user_name", record.user_name))
        active = changes.get("active", record.active)
        return UserInput(
            user_name=name,
            document={**document, "userName": name},
            external_id=record.external_id,
            display_name=str(changes.get("displayName", record.display_name)),
            active=active if isinstance(active, bool) else None,
        )

    return transform


@pytest.mark.parametrize(
    "changes",
    [
        {"displayName": "Jane Q. Doe"},
        {"active": False},
        {"user_name": "jane.doe@example.com"},
        {"displayName": "Jane D.", "active": False},
    ],
    ids=["attribute", "deactivate", "rename-with-manual-role", "attribute-and-deactivate"],
)
def test_a_patch_updates_the_user_row_once(
    store: Store, clock: FakeClock, changes: dict[str, object]
) -> None:
    user_id = new_user(store, "jane@example.com", display_name="Jane")
    grant_manual(store, "jane@example.com", "auditor")
    before = user_detail(store, user_id).user
    clock.advance(5)
    sql.reset_stats(store.db)
    after = modify_user(store, user_id, _patch(**changes), ACTOR)
    assert _user_updates(store) == 1, _user_update_texts(store)
    assert after.version == before.version + 1
    assert after.last_modified > before.last_modified
    actions = [e.action for e in audit_events(store, "user", user_id)]
    assert ("user.updated" in actions) == (changes.keys() != {"active"})
    if changes.get("active") is False:
        assert "user.deactivated" in actions and after.active is False
    if "user_name" in changes:
        assert "user.renamed" in actions


def test_reactivation_by_put_updates_the_user_row_once(store: Store) -> None:
    user_id = new_user(store, "jane@example.com", active=False)
    mapped_role(store, "ops", "operator")
    sql.reset_stats(store.db)
    after = replace_user(
        store, user_id, replace(user_input("jane@example.com"), active=True), ACTOR
    )
    assert _user_updates(store) == 1, _user_update_texts(store)
    assert after.active is True and after.version == 2
    assert "user.reactivated" in [e.action for e in audit_events(store, "user", user_id)]


def test_a_patch_that_changes_nothing_writes_nothing(store: Store) -> None:
    user_id = new_user(store, "jane@example.com", display_name="Jane")
    sql.reset_stats(store.db)
    after = modify_user(store, user_id, _patch(), ACTOR)
    assert _user_updates(store) == 0, _user_update_texts(store)
    assert after.version == 1


def test_the_idps_value_under_a_hold_is_kept_in_the_same_row_write(store: Store) -> None:
    user_id = new_user(store, "jane@example.com", display_name="Jane")
    deactivate_user(store, user_id, "operator:alice")
    sql.reset_stats(store.db)
    after = modify_user(store, user_id, _patch(displayName="Jane D.", active=False), ACTOR)
    assert _user_updates(store) == 1, _user_update_texts(store)
    assert after.active is False and after.version == 3
    actions = [e.action for e in audit_events(store, "user", user_id)]
    assert actions[:2] == ["user.hold_kept", "user.updated"], actions
