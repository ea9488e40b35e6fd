"""SCIM Users in the store: create, uniqueness (a create never takes a user over), replace,
modify, delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.criteria import Compare
from store.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from store.queries.groups import get_group
from store.queries.users import find_user, get_user, list_users
from store.records import EmailInput, UserInput, UserRecord
from store.services.groups import create_group
from store.services.sessions import check_session, start_session
from store.services.users import create_user, delete_user, modify_user, replace_user
from tests.store.test_users_helpers import (
    ACTOR,
    audit_actions,
    grant_manual,
    group_input,
    mapped_role,
    new_user,
    roles_of,
    user_input,
)
from tests.support import FakeClock, aware

OKTA = user_input(
    "jane@example.com",
    external_id="00ujl29u0le5T6Aj10h7",
    display_name="Jane Doe",
    given_name="Jane",
    family_name="Doe",
    document={"name": {"givenName": "Jane", "familyName": "Doe"}, "password": "1mz050nq"},
)


def test_create_returns_the_user_as_sent(store: Store, clock: FakeClock) -> None:
    record = create_user(store, OKTA, ACTOR)
    assert record.user_name == "jane@example.com"
    assert record.external_id == "00ujl29u0le5T6Aj10h7"
    assert record.display_name == "Jane Doe" and record.active is True
    assert record.version == 1 and record.groups == ()
    assert record.created == record.last_modified == aware(clock.now)
    assert "password" not in record.document and record.document["locale"] == "en-US"
    assert get_user(store, record.id) == record
    assert audit_actions(store, record.id) == ["user.created"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("jane@example.com", "JANE@EXAMPLE.COM"),
        ("straße@example.com", "STRASSE@example.com"),
        ("Ärger@example.com", "ärger@example.com"),
        ("ﬁnn@example.com", "FINN@example.com"),  # NFKC: the ligature is "fi"
    ],
)
def test_user_name_is_unique_case_insensitively(store: Store, first: str, second: str) -> None:
    user_id = new_user(store, first)
    with pytest.raises(Conflict) as caught:
        create_user(store, user_input(second), ACTOR)
    assert caught.value.attribute == "userName"
    found = find_user(store, second)
    assert found is not None and found.id == user_id and found.user_name == first


def test_external_id_is_case_exact_and_need_not_be_unique(store: Store) -> None:
    a = new_user(store, "a@example.com", external_id="abc")
    new_user(store, "b@example.com", external_id="ABC")  # a different id
    record = create_user(store, user_input("c@example.com", external_id="abc"), ACTOR)
    assert record.id != a and record.external_id == "abc"
    both = list_users(store, Compare("externalId", "eq", "abc"), 1, 10)
    assert sorted(u.id for u in both.items) == sorted((a, record.id))


def test_create_never_takes_over_an_inactive_user(store: Store, clock: FakeClock) -> None:
    mapped_role(store, "Engineering", "operator")
    user_id = new_user(store, "jane@example.com", external_id="ext-1")
    create_group(store, group_input("Engineering"), (user_id,), ACTOR)
    grant_manual(store, "jane@example.com", "admin")
    off = replace(user_input("jane@example.com", external_id="ext-1"), active=False)
    replace_user(store, user_id, off, ACTOR)
    before = get_user(store, user_id)
    for attempt in (
        user_input("JANE@example.com", display_name="J"),
        replace(user_input("jane@example.com"), active=False),
    ):
        clock.advance(60)
        with pytest.raises(Conflict):
            create_user(store, attempt, ACTOR)
    assert get_user(store, user_id) == before
    assert roles_of(store, user_id) == {("admin", "manual")}
    assert "user.restored" not in audit_actions(store, user_id)


def test_an_external_id_never_takes_over_another_user(store: Store) -> None:
    """externalId is the client's value, possibly shared (another IdP may number its users the
    same way): a create carrying an inactive user's externalId makes a new user."""
    user_id = new_user(store, "old@example.com", external_id="entra-object-1", active=False)
    before = get_user(store, user_id)
    record = create_user(store, user_input("new@example.com", external_id="entra-object-1"),
                         ACTOR)  # fmt: skip
    assert record.id != user_id and record.external_id == "entra-object-1"
    assert get_user(store, user_id) == before


def test_create_matching_an_active_user_name_conflicts(store: Store) -> None:
    new_user(store, "jane@example.com", external_id="ext-1")
    with pytest.raises(Conflict) as caught:
        create_user(store, user_input("JANE@example.com", external_id="ext-2"), ACTOR)
    assert caught.value.attribute == "userName"
    record = create_user(store, user_input("other@example.com", external_id="ext-1"), ACTOR)
    assert record.external_id == "ext-1"  # a shared externalId is no conflict


def test_deleted_users_are_never_restored(store: Store) -> None:
    old = new_user(store, "jane@example.com", external_id="ext-1")
    delete_user(store, old, ACTOR)
    record = create_user(store, user_input("jane@example.com", external_id="ext-1"), ACTOR)
    assert record.id != old and record.groups == ()


def test_replace_changes_only_what_differs_and_audits_it(store: Store, clock: FakeClock) -> None:
    record = create_user(store, OKTA, ACTOR)
    clock.advance(5)
    same = replace_user(store, record.id, OKTA, ACTOR)
    assert same.version == 1 and audit_actions(store, record.id) == ["user.created"]

    changed = replace(OKTA, display_name="Jane Q. Doe", document={"title": "CTO"})
    updated = replace_user(store, record.id, changed, ACTOR)
    assert updated.version == 2 and updated.last_modified == aware(clock.now)
    assert updated.display_name == "Jane Q. Doe" and updated.document == {"title": "CTO"}
    with db_session:
        event = store.db.AuditEvent.select(lambda e: e.action == "user.updated").first()
        assert event.actor == ACTOR
        assert event.before["displayName"] == "Jane Doe"
        assert event.after["displayName"] == "Jane Q. Doe"
        assert event.after["title"] == "CTO" and "userName" not in event.after


def test_replace_with_active_false_is_the_deactivation(store: Store) -> None:
    mapped_role(store, "Engineering", "operator")
    user_id = new_user(store, "jane@example.com")
    group = create_group(store, group_input("Engineering"), (user_id,), ACTOR)
    grant_manual(store, "jane@example.com", "viewer")
    _, cookie = start_session(store, "jane@example.com", "sso")
    assert check_session(store, cookie).valid

    off = replace_user(store, user_id, replace(user_input("jane@example.com"), active=False), ACTOR)
    assert off.active is False and off.version == 2
    assert not check_session(store, cookie).valid
    assert roles_of(store, user_id) == {("viewer", "manual")}
    assert [m.id for m in get_group(store, group.id).members or ()] == [user_id]

    on = replace_user(store, user_id, user_input("jane@example.com"), ACTOR)
    assert on.active is True
    assert roles_of(store, user_id) == {("viewer", "manual"), ("operator", "idp")}


def test_replace_cannot_take_another_users_names(store: Store) -> None:
    new_user(store, "taken@example.com", external_id="ext-taken")
    user_id = new_user(store, "jane@example.com")
    with pytest.raises(Conflict) as caught:
        replace_user(store, user_id, user_input("TAKEN@example.com"), ACTOR)
    assert caught.value.attribute == "userName"
    assert get_user(store, user_id).user_name == "jane@example.com"
    shared = replace_user(store, user_id, user_input("j@example.com", external_id="ext-taken"),
                          ACTOR)  # fmt: skip
    assert shared.external_id == "ext-taken"  # the client's value: not ours to refuse


def test_modify_to_a_taken_user_name_is_a_uniqueness_conflict_at_once(store: Store) -> None:
    """The rule answers, not the database key after retries: the transform runs once and
    the conflict names the attribute."""
    new_user(store, "taken@example.com", external_id="ext-taken")
    user_id = new_user(store, "jane@example.com")
    calls = []

    def rename(name: str, external_id: str | None = None) -> Callable[[UserRecord], UserInput]:
        def transform(current: UserRecord) -> UserInput:
            calls.append(current.version)
            return user_input(name, external_id=external_id)

        return transform

    with pytest.raises(Conflict) as caught:
        modify_user(store, user_id, rename("TAKEN@example.com"), ACTOR)
    assert caught.value.attribute == "userName" and calls == [1]
    assert get_user(store, user_id).user_name == "jane@example.com"
    # externalId is the client's value (RFC 7643 §3.1): sharing one is no conflict
    assert modify_user(store, user_id, rename("j@example.com", "ext-taken"), ACTOR).external_id


def test_if_match_mismatch_changes_nothing(store: Store) -> None:
    user_id = new_user(store, "jane@example.com")
    other = replace(user_input("jane@example.com"), display_name="X", active=False)
    with pytest.raises(PreconditionFailed):
        replace_user(store, user_id, other, ACTOR, if_match=7)
    with pytest.raises(PreconditionFailed):
        modify_user(store, user_id, lambda current: other, ACTOR, if_match=2)
    with pytest.raises(PreconditionFailed):
        delete_user(store, user_id, ACTOR, if_match=0)
    record = get_user(store, user_id)
    assert record.version == 1 and record.active and record.display_name is None
    assert replace_user(store, user_id, other, ACTOR, if_match=1).version == 2


def test_modify_applies_the_transform_or_nothing(store: Store) -> None:
    user_id = new_user(store, "jane@example.com")

    def failing(current):  # type: ignore[no-untyped-def]
        raise ValueError("the PATCH is invalid")

    with pytest.raises(ValueError):
        modify_user(store, user_id, failing, ACTOR)
    assert get_user(store, user_id).version == 1

    def deactivate(current):  # type: ignore[no-untyped-def]
        assert current.id == user_id and current.active
        return replace(user_input(current.user_name), active=False)

    record = modify_user(store, user_id, deactivate, ACTOR)
    assert record.active is False and record.version == 2
    assert audit_actions(store, user_id)[-1] == "user.deactivated"


def test_delete_removes_the_user_everywhere_but_keeps_history(store: Store) -> None:
    user_id = new_user(store, "jane@example.com", external_id="ext-1")
    keep = new_user(store, "keep@example.com")
    group = create_group(store, group_input("Engineering"), (user_id, keep), ACTOR)
    grant_manual(store, "jane@example.com", "viewer")

    delete_user(store, user_id, ACTOR)
    with pytest.raises(NotFound):
        get_user(store, user_id)
    with pytest.raises(NotFound):
        delete_user(store, user_id, ACTOR)
    with pytest.raises(NotFound):
        replace_user(store, user_id, user_input("jane@example.com"), ACTOR)
    assert find_user(store, "jane@example.com") is None
    assert list_users(store, Compare("userName", "eq", "jane@example.com"), 1, 10).total == 0
    assert [u.id for u in list_users(store, None, 1, 10).items] == [keep]
    after = get_group(store, group.id)
    assert [m.id for m in after.members or ()] == [keep] and after.member_count == 1
    assert after.version == 2
    assert roles_of(store, user_id) == {("viewer", "manual")}
    assert audit_actions(store, user_id)[-2:] == ["user.deactivated", "user.deleted"]


def test_inputs_that_cannot_be_stored_are_invalid(store: Store) -> None:
    nested: dict = {}
    for _ in range(200):
        nested = {"a": [nested]}
    bad = [
        (user_input("a@example.com", document={"deep": nested}), "document"),
        (user_input("   "), "userName"),
        (user_input("a\x00b@example.com"), "userName"),
        (user_input("x" * 513), "userName"),
        (user_input("a@example.com", external_id="e" * 513), "externalId"),
        (user_input("a@example.com", document={"nick": "a\ud800"}), "document"),
        (user_input("a@example.com", document={"score": float("nan")}), "document"),
        (user_input("a@example.com", document={"n": [{"deep": 10**5000}]}), "document"),
        (user_input("a@example.com", emails=(EmailInput("x" * 600),)), "emails"),
    ]
    for data, attribute in bad:
        with pytest.raises(InvalidInput) as caught:
            create_user(store, data, ACTOR)
        assert caught.value.attribute == attribute
    assert list_users(store, None, 1, 10).total == 0


def test_emails_follow_replace(store: Store) -> None:
    user_id = new_user(store, "jane@example.com")
    work = Compare("emails.value", "eq", "JANE@example.com")
    assert list_users(store, work, 1, 10).total == 1
    moved = user_input("jane@example.com", emails=(EmailInput("j@corp", "Work", True),))
    replace_user(store, user_id, moved, ACTOR)
    assert list_users(store, work, 1, 10).total == 0
    assert list_users(store, Compare("emails.value", "eq", "J@CORP"), 1, 10).total == 1
    assert list_users(store, Compare("emails.type", "eq", "work"), 1, 10).total == 1


def test_if_match_accepts_any_listed_version(store: Store) -> None:
    user_id = new_user(store, "a@example.com")
    other = user_input("b@example.com")
    with pytest.raises(PreconditionFailed):
        replace_user(store, user_id, other, ACTOR, if_match=frozenset({0, 2}))
    assert replace_user(store, user_id, other, ACTOR, if_match=frozenset({7, 1})).version == 2
