"""Users, groups and memberships written straight through the entities, for the identity
lifecycle tests (roles, sessions, tokens) that need people to exist but do not test the SCIM
users and groups services themselves. Membership changes recompute roles through
``lifecycle``, as those services do."""

from __future__ import annotations

from pony.orm import db_session

from store.context import Store
from store.domain import causes
from store.domain.names import fold
from store.domain.roles import IdpGrant, MappingKey, idp_grants
from store.records import GroupInput, MembershipChange
from store.services.connections import default_connection
from store.services.groups import change_group, create_group
from store.services.lifecycle import end_user_sessions, lock_user, recompute_user_roles


def make_user(
    store: Store, user_name: str, active: bool = True, display_name: str | None = None
) -> str:
    with db_session:
        now = store.clock()
        user = store.db.User(
            id=store.new_id(),
            connection=default_connection(store, "test"),
            user_name=user_name,
            user_name_key=fold(user_name),
            display_name=display_name,
            display_name_key=fold(display_name) if display_name else None,
            active=active,
            document={"userName": user_name},
            created=now,
            last_modified=now,
        )
        return str(user.id)


def make_group(
    store: Store, name: str, members: tuple[str, ...] = (), actor: str = "test:idp"
) -> str:
    """A group created through the groups service (roles recomputed as the IdP's would be)."""
    return create_group(store, GroupInput(display_name=name, document={}), tuple(members), actor).id


def add_member(store: Store, group_id: str, user_id: str, actor: str = "test:idp") -> None:
    change_group(store, group_id, lambda _group: [MembershipChange("add", (user_id,))], actor)


def remove_member(store: Store, group_id: str, user_id: str) -> None:
    with db_session:
        group = store.db.Group.get_for_update(id=group_id)
        user = lock_user(store, user_id)
        membership = store.db.Membership.get(group=group, user=user)
        if membership is not None:
            membership.delete()
            group.member_count -= 1
        recompute_user_roles(store, user, "test:idp", cause=causes.group(group_id, "test"))


def soft_delete_user(store: Store, user_id: str) -> None:
    """What a SCIM DELETE does to the row: gone from the API, history kept."""
    with db_session:
        user = lock_user(store, user_id)
        end_user_sessions(store, user, "user deleted")
        user.deleted_at = store.clock()
        user.user_name_key = None
        for membership in list(user.memberships):
            membership.group.member_count -= 1
            membership.delete()
        recompute_user_roles(store, user, "test:idp", cause=causes.user_deleted(user_id))


def roles_of(store: Store, user_id: str) -> set[tuple[str, str]]:
    """{(role, source)} the user holds."""
    with db_session:
        user = store.db.User[user_id]
        return {(a.role.name, a.source) for a in user.role_assignments}


def role_drift(store: Store) -> dict[str, tuple[set[IdpGrant], set[IdpGrant]]]:
    """userName -> (IdP grants held, IdP grants the memberships and the mapping give) for
    every live user where the two differ: a recomputation from the rows, in one read."""
    with db_session:
        mapping: dict[MappingKey, set[str]] = {}
        for m in store.db.GroupRoleMapping.select():
            owner = None if m.connection is None else m.connection.id
            mapping.setdefault((owner, m.group_name_key), set()).add(m.role.name)
        drift = {}
        for user in store.db.User.select(lambda u: u.deleted_at is None):
            keys = [(m.group.connection.id, m.group.display_name_key) for m in user.memberships]
            wanted = idp_grants(user.active, keys, mapping)
            held = {
                IdpGrant(a.role.name, a.via_group)
                for a in user.role_assignments
                if a.source == "idp"
            }
            if held != wanted:
                drift[user.user_name] = (held, wanted)
        return drift
