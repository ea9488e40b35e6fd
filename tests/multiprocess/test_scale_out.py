"""Two API processes on one PostgreSQL database agree on everything that must agree: group
membership under concurrent PATCHes, the per-token rate limit, token revocation and the end
of browser sessions. Everything goes over HTTP (and the operator CLI) to real processes."""

from __future__ import annotations

import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.bench.load import ERROR, GROUP, PATCH, USER, Reply
from tests.bench.seed import seed_users
from tests.multiprocess.conftest import ClientPerThread, Cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCIM = "/scim/v2"
CLIENTS = 8
MEMBERS = 1000
OKTA_DEACTIVATE = {"schemas": [PATCH], "Operations": [{"op": "replace",
                                                       "value": {"active": False}}]}  # fmt: skip


def okta_user(name: str) -> dict[str, object]:
    return {"schemas": [USER], "userName": name, "name": {"givenName": "Test", "familyName": name},
            "emails": [{"primary": True, "value": name, "type": "work"}], "active": True,
            "password": "never-kept-1", "groups": []}  # fmt: skip


def add_member_body(user_id: str, index: int) -> dict[str, object]:
    """Okta's single-member add (value + display) and JumpCloud's (value only), alternately."""
    member: dict[str, str] = {"value": user_id}
    if index % 2 == 0:
        member["display"] = f"member {index}"
    return {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                                                "value": [member]}]}  # fmt: skip


def scim_error(reply: Reply, status: int) -> dict[str, object]:
    assert reply.status == status, (reply.status, reply.raw[:300])
    assert reply.header("content-type") == "application/scim+json"
    body = reply.json
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    return body


def test_eight_clients_on_two_processes_add_1000_members_and_lose_none(
    load_pair: Cluster,
) -> None:
    """The users are seeded through the store's own create use case (fast); the group and
    every membership change go over HTTP, four clients on each process at once."""
    token = load_pair.token("Okta bulk", rate_limit=1_000_000)
    user_ids = seed_users(load_pair.url, 0, MEMBERS, connection="Okta bulk")
    created = load_pair.client(0, token).post(SCIM + "/Groups", {
        "schemas": [GROUP], "displayName": "All staff", "members": []})  # fmt: skip
    assert created.status == 201, created.raw[:300]
    group_path = f"{SCIM}/Groups/{created.json['id']}"
    clients = ClientPerThread(load_pair, token)

    def add(job: tuple[int, str]) -> int:
        return clients.get().patch(group_path, add_member_body(job[1], job[0])).status

    with clients, ThreadPoolExecutor(CLIENTS) as pool:
        statuses = Counter(pool.map(add, enumerate(user_ids)))
    assert statuses == Counter({204: MEMBERS})
    for index in (0, 1):  # both processes see every member
        group = load_pair.client(index, token).get(group_path).json
        assert len(group["members"]) == MEMBERS
        assert {m["value"] for m in group["members"]} == set(user_ids)
    found = (
        load_pair.client(1, token)
        .get(
            SCIM + "/Groups",
            params={
                "filter": f'members.value eq "{user_ids[-1]}"',
                "excludedAttributes": "members",
            },
        )
        .json
    )
    assert [g["id"] for g in found["Resources"]] == [created.json["id"]]


def test_the_rate_limit_of_a_token_holds_across_both_processes(pair: Cluster) -> None:
    """1 request a minute with the configured burst of 5: whatever process they reach and
    however many clients send at once, exactly 6 of 40 requests get through while the
    minute lasts; the rest get 429 with Retry-After and a SCIM error. Another token is
    not affected."""
    per_minute, burst, sent = 1, 5, 40
    token = pair.token("Entra throttled", rate_limit=per_minute)
    other = pair.token("Okta unaffected")
    clients = ClientPerThread(pair, token)
    began = time.monotonic()
    with clients, ThreadPoolExecutor(CLIENTS) as pool:
        replies = list(pool.map(lambda _i: clients.get().get(SCIM + "/Users",
                                                             params={"count": 1}),
                                range(sent)))  # fmt: skip
    elapsed = time.monotonic() - began
    allowed = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status != 200]
    # burst + 1 at once, then one more per interval that passed (none within the minute).
    most = burst + 1 + math.floor(elapsed / (60 / per_minute))
    assert burst + 1 <= len(allowed) <= most, Counter(r.status for r in replies)
    for reply in refused:
        scim_error(reply, 429)
        assert int(reply.header("retry-after") or "0") >= 1
    for index in (0, 1):
        assert pair.client(index, other).get(SCIM + "/Users", params={"count": 1}).status == 200


def test_a_token_revoked_by_the_operator_fails_at_once_on_both_processes(pair: Cluster) -> None:
    token = pair.token("JumpCloud to revoke")
    a, b = pair.client(0, token), pair.client(1, token)
    for client in (a, b):  # both processes have just accepted it (any cache would be warm)
        assert client.get(SCIM + "/Users", params={"count": 1}).status == 200
    pair.cli("token", "revoke", "JumpCloud to revoke")
    for client in (b, a):
        reply = client.get(SCIM + "/Users", params={"count": 1})
        scim_error(reply, 401)
        assert (reply.header("www-authenticate") or "").startswith("Bearer")
    a.close()
    b.close()


def _session_check(cluster: Cluster, index: int, cookie: str) -> Reply:
    client = cluster.client(index)
    try:
        return client.get("/auth/session", headers={"Cookie": f"control_session={cookie}"})
    finally:
        client.close()


def _signed_in_user(cluster: Cluster, token: str, name: str) -> tuple[str, str]:
    """A user created over SCIM on process A with a browser session; (user id, cookie)."""
    created = cluster.client(0, token).post(SCIM + "/Users", okta_user(name))
    assert created.status == 201, created.raw[:300]
    cookie = cluster.cli("session", "start", name).strip().splitlines()[-1]
    for index in (0, 1):
        reply = _session_check(cluster, index, cookie)
        assert reply.status == 200 and reply.json["user"] == name
    return str(created.json["id"]), cookie


def test_a_user_deactivated_through_one_process_loses_the_session_on_the_other(
    pair: Cluster,
) -> None:
    token = pair.token("Okta deactivation")
    user_id, cookie = _signed_in_user(pair, token, "leaver@example.com")
    reply = pair.client(0, token).patch(f"{SCIM}/Users/{user_id}", OKTA_DEACTIVATE)
    assert reply.status == 200 and reply.json["active"] is False
    refused = _session_check(pair, 1, cookie)
    assert refused.status == 401
    assert refused.header("location")  # back to sign in
    # Reactivating does not revive the ended session (the user signs in again).
    reactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active",
                                                      "value": "True"}]}  # fmt: skip
    assert pair.client(1, token).patch(f"{SCIM}/Users/{user_id}", reactivate).status == 200
    assert _session_check(pair, 0, cookie).status == 401


def test_sessions_ended_by_the_operator_fail_at_once_on_both_processes(pair: Cluster) -> None:
    token = pair.token("Entra sessions")
    _user_id, cookie = _signed_in_user(pair, token, "rotated@example.com")
    pair.cli("session", "end", "rotated@example.com")
    for index in (1, 0):
        assert _session_check(pair, index, cookie).status == 401
