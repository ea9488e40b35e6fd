"""Provisioning load for fault tests: client threads that create users and change groups with
multi-operation PATCHes designed so that a half-applied PATCH would be visible afterwards.

Thread ``t`` owns group ``G{t}`` and user ``owner-{t}``. Its step ``k`` creates users
``a{k}`` and ``b{k}``, then sends one group PATCH that adds both, removes ``a{k-1}`` and renames
the group to ``G{t}-v{k}``, then one user PATCH that sets title, nickName and givenName of its
owner to ``v{k}``. Applied all-or-nothing, the group named ``...-v{j}`` has exactly the members
``b1..bj`` and ``aj``, and the owner's three attributes agree.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.security.harness import GROUP_URN, PATCH_URN, USER_URN, Answer, raw_request


@dataclass
class Outcome:
    at: float
    what: str
    status: int  # 0: connection refused (server down); -1: cut off before a whole answer
    scim_error: bool
    retry_after: str | None


@dataclass
class Lane:
    """What one client thread did and saw."""

    thread: int
    group_id: str
    owner_id: str
    users: dict[str, str] = field(default_factory=dict)  # userName -> id, answered 201
    group_steps: list[int] = field(default_factory=list)  # k of each PATCH answered 2xx
    owner_steps: list[int] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


class Burst:
    """Client threads against ``port()`` (a callable: the port may change after a restart)."""

    def __init__(self, port: Any, token: str, lanes: list[Lane], tag: str) -> None:
        self.port, self.token, self.lanes, self.tag = port, token, lanes, tag
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.step = {lane.thread: 0 for lane in lanes}

    def send(self, lane: Lane, what: str, method: str, path: str, body: Any) -> Answer | None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}
        data = None if body is None else json.dumps(body).encode()
        try:
            answer = raw_request(self.port(), method, path, headers, data, timeout=15)
        except (OSError, ValueError, IndexError) as exc:  # refused, cut, or half an answer
            status = 0 if isinstance(exc, ConnectionRefusedError) else -1
            lane.outcomes.append(Outcome(time.monotonic(), what, status, False, None))
            time.sleep(0.05)  # the server is down or restarting: do not spin
            return None
        lane.outcomes.append(
            Outcome(
                time.monotonic(),
                what,
                answer.status,
                answer.is_scim_error(),
                answer.header("retry-after"),
            )
        )
        return answer

    def _create(self, lane: Lane, name: str) -> bool:
        if name in lane.users:
            return True
        body = {
            "schemas": [USER_URN],
            "userName": name,
            "externalId": f"x-{name}",
            "emails": [{"value": name, "type": "work", "primary": True}],
        }
        answer = self.send(lane, "create", "POST", "/scim/v2/Users", body)
        if answer is not None and answer.status == 201:
            lane.users[name] = answer.json["id"]
        elif answer is not None and answer.status == 409:  # made before a crash, unanswered
            query = quote(f'userName eq "{name}"')
            found = self.send(lane, "lookup", "GET", f"/scim/v2/Users?filter={query}", None)
            if found is not None and found.status == 200 and found.json["Resources"]:
                lane.users[name] = found.json["Resources"][0]["id"]
        return name in lane.users

    def _one_step(self, lane: Lane) -> None:
        k = self.step[lane.thread] + 1
        a, b = (f"{self.tag}-t{lane.thread}-{x}{k}@example.com" for x in "ab")
        if not (self._create(lane, a) and self._create(lane, b)):
            return  # retried with the same k next time (creates are idempotent by 409)
        ops = [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": lane.users[a]}, {"value": lane.users[b]}],
            },
            {"op": "replace", "path": "displayName", "value": f"G{lane.thread}-v{k}"},
        ]
        previous = f"{self.tag}-t{lane.thread}-a{k - 1}@example.com"
        if previous in lane.users:
            ops.insert(1, {"op": "remove", "path": f'members[value eq "{lane.users[previous]}"]'})
        patch = {"schemas": [PATCH_URN], "Operations": ops}
        answer = self.send(lane, "group-patch", "PATCH", f"/scim/v2/Groups/{lane.group_id}", patch)
        if answer is None or answer.status >= 300:
            return
        lane.group_steps.append(k)
        self.step[lane.thread] = k
        user_ops = [
            {"op": "replace", "path": p, "value": f"v{k}"}
            for p in ("title", "nickName", "name.givenName")
        ]
        answer = self.send(
            lane,
            "user-patch",
            "PATCH",
            f"/scim/v2/Users/{lane.owner_id}",
            {"schemas": [PATCH_URN], "Operations": user_ops},
        )
        if answer is not None and answer.status < 300:
            lane.owner_steps.append(k)

    def _run(self, lane: Lane) -> None:
        while not self.stop.is_set():
            self._one_step(lane)

    def start(self) -> Burst:
        for lane in self.lanes:
            thread = threading.Thread(target=self._run, args=(lane,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self._threads.clear()

    def ok_count(self) -> int:
        """Answers in the 2xx range so far."""
        return sum(1 for lane in self.lanes for o in lane.outcomes if 200 <= o.status < 300)

    def answered(self) -> Counter[str]:
        seen: Counter[str] = Counter()
        for lane in self.lanes:
            for outcome in lane.outcomes:
                names = {0: "refused", -1: "cut mid-request"}
                seen[names.get(outcome.status, str(outcome.status))] += 1
        return seen


def make_lanes(port: int, token: str, threads: int, tag: str) -> list[Lane]:
    """Each lane's group and owner, created up front (and checked)."""
    lanes = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    for t in range(threads):
        user = {"schemas": [USER_URN], "userName": f"{tag}-owner-{t}@example.com"}
        owner = raw_request(port, "POST", "/scim/v2/Users", headers, json.dumps(user).encode())
        group = {"schemas": [GROUP_URN], "displayName": f"G{t}-v0", "members": []}
        made = raw_request(port, "POST", "/scim/v2/Groups", headers, json.dumps(group).encode())
        assert owner.status == 201 and made.status == 201, (owner.body, made.body)
        lanes.append(Lane(t, made.json["id"], owner.json["id"]))
    return lanes


def get_json(port: int, token: str, path: str) -> Any:
    answer = raw_request(port, "GET", path, {"Authorization": f"Bearer {token}"})
    assert answer.status == 200, (path, answer.status, answer.body[:300])
    return answer.json


def verify_lane(
    port: int, token: str, lane: Lane, tag: str, answered: bool = True
) -> dict[str, int]:
    """Each PATCH is there entirely or not at all; with ``answered``, also everything that
    was answered 2xx is there (not so after restoring an older backup)."""
    group = get_json(port, token, f"/scim/v2/Groups/{lane.group_id}")
    prefix = f"G{lane.thread}-v"
    assert group["displayName"].startswith(prefix), group["displayName"]
    applied = int(group["displayName"].removeprefix(prefix))
    ids = lane.users
    expected = {ids[f"{tag}-t{lane.thread}-b{k}@example.com"] for k in range(1, applied + 1)}
    if applied:
        expected.add(ids[f"{tag}-t{lane.thread}-a{applied}@example.com"])
    assert {m["value"] for m in group.get("members", [])} == expected  # the rename's own adds
    owner = get_json(port, token, f"/scim/v2/Users/{lane.owner_id}")
    values = {owner.get("title"), owner.get("nickName"), owner.get("name", {}).get("givenName")}
    assert len(values) == 1, values  # the three replaces of one PATCH agree
    done = next(iter(values))
    if answered:
        assert applied >= max(lane.group_steps, default=0)  # every answered PATCH is in
        assert int((done or "v0")[1:]) >= max(lane.owner_steps, default=0)
        for name, uid in ids.items():
            user = get_json(port, token, f"/scim/v2/Users/{uid}")
            assert user["userName"] == name and user["externalId"] == f"x-{name}"
            assert [e["value"] for e in user["emails"]] == [name]
    return {
        "users": len(ids),
        "group patches": len(lane.group_steps),
        "user patches": len(lane.owner_steps),
    }
