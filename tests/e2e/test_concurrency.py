"""Concurrent IdP clients through the real server: nothing lost, no hot-row failures."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from store.queries.groups import get_group
from store.records import UserInput
from store.services.users import create_user
from tests.e2e.conftest import LiveServer

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CLIENTS = 8
MEMBERS = 1000


def test_eight_clients_add_a_thousand_members_and_lose_none(live: LiveServer) -> None:
    local = threading.local()

    def client():  # type: ignore[no-untyped-def]
        if not hasattr(local, "client"):
            local.client = live.client()
        return local.client

    # The users are set up through the store: what is under test is the group PATCHes.
    user_ids = [
        create_user(live.store, UserInput(f"m{i:04d}@example.com", {}), "token:setup").id
        for i in range(MEMBERS)
    ]
    group = live.client().post("/Groups", {"schemas": [GROUP], "displayName": "Everyone"}).json
    path = f"/Groups/{group['id']}"

    def add(user_id: str) -> int:
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
        }
        return client().patch(path, body).status

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = Counter(pool.map(add, user_ids))
    assert statuses == Counter({204: MEMBERS})
    members = live.client().get(path).json["members"]
    assert sorted(m["value"] for m in members) == sorted(user_ids)
    record = get_group(live.store, group["id"], include_members=False)
    assert record.member_count == MEMBERS
