"""A user's lifecycle moving between a large group change's decision and the batch that
moves that user (a crash between batches widens the gap to the worker's next run): a user
deleted meanwhile never comes back as a member, and one deactivated meanwhile becomes a
member without the roles of the group. Both backends, through the store's services."""

from __future__ import annotations

from pony.orm import db_session

from store.context import Store
from store.queries.groups import get_group
from store.services.lifecycle import deactivate_user
from store.services.maintenance import reconcile_roles
from store.services.users import delete_user
from tests.store.test_member_batches import _decide_and_stop_after_one_batch, _members, _setup
from tests.store.test_users_helpers import roles_of


def _memberships_of(store: Store, user_id: str) -> int:
    with db_session:
        return int(store.db.Membership.select(lambda m: m.user.id == user_id).count())


def test_a_user_deleted_before_its_batch_never_becomes_a_member(store: Store) -> None:
    group_id, _old, new = _setup(store, mapped=True)
    _decide_and_stop_after_one_batch(store, group_id, new)
    late = new[-1]  # joins with the PUT, in a batch not run yet
    delete_user(store, late, "idp:t")
    reconcile_roles(store)  # the worker finishes the change
    assert late not in _members(store, group_id)
    assert _memberships_of(store, late) == 0
    group = get_group(store, group_id)
    assert group.member_count == len(new) - 1 == len(group.members or ())
    assert roles_of(store, late) == set()


def test_a_user_deactivated_before_its_batch_joins_without_the_groups_roles(
    store: Store,
) -> None:
    group_id, _old, new = _setup(store, mapped=True)
    _decide_and_stop_after_one_batch(store, group_id, new)
    late = new[-1]
    deactivate_user(store, late, "operator:t")
    reconcile_roles(store)
    assert late in _members(store, group_id)  # memberships stay while inactive
    assert roles_of(store, late) == set()
    assert all(roles_of(store, u) == {("operator", "idp")} for u in new[:-1])
