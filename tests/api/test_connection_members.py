"""Memberships that cross connections, as a ``--users-only`` transfer (or an upgrade) leaves
them: the group's IdP no longer sees the moved members (not listed, not matched by a
``members`` filter, not taken out by a replace), the users' new IdP does not see the old
IdP's group, and the membership and the roles it gives stay until an operator or the
group's own IdP changes them. Real app and store, both backends."""

from __future__ import annotations

import falcon

from store.context import Store
from store.queries.groups import get_group
from store.queries.identity import user_roles
from store.services.connections import transfer_connection
from store.services.roles import ensure_default_roles, set_mapping
from store.services.tokens import issue_token
from tests.api.conftest import GROUP_URN, Scim, patch_op

OPERATOR = "operator:test"


def _idp(app: falcon.App, store: Store, name: str) -> Scim:
    return Scim(app, issue_token(store, name, OPERATOR, rate_limit=10**6).secret)


def test_members_moved_to_another_connection_are_invisible_yet_kept(
    app: falcon.App, api_store: Store
) -> None:
    ensure_default_roles(api_store)
    set_mapping(api_store, "Engineering", "operator", OPERATOR)
    okta, entra = _idp(app, api_store, "Okta"), _idp(app, api_store, "Entra")
    ada, bob = okta.create_user("ada@example.com"), okta.create_user("bob@example.com")
    team = okta.create_group("Engineering", [ada["id"], bob["id"]])
    transfer_connection(api_store, "Okta", "Entra", users_only=True, actor=OPERATOR)

    path = f"/Groups/{team['id']}"
    assert okta.get(path).json.get("members", []) == []
    matched = okta.get("/Groups", params={"filter": f'members.value eq "{ada["id"]}"'}).json
    assert matched["totalResults"] == 0
    push = {"schemas": [GROUP_URN], "displayName": "Engineering", "members": []}
    assert okta.put(path, push).status_code == 200
    remove = patch_op({"op": "remove", "path": f'members[value eq "{bob["id"]}"]'})
    assert okta.patch(path, remove).status_code in (200, 204)
    assert entra.get(f"/Users/{ada['id']}").json.get("groups", []) == []
    assert entra.get(path).status_code == 404

    members = get_group(api_store, team["id"]).members or ()
    assert sorted(m.id for m in members) == sorted([ada["id"], bob["id"]])
    for person in (ada, bob):
        assert {(r.role, r.source) for r in user_roles(api_store, person["id"])} == {
            ("operator", "idp")
        }
