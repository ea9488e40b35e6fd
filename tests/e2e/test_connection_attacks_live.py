"""A second connection's token attacking the first's provisioning while it runs, on a real
server (waitress on 127.0.0.1, both backends): the attacker races the victim's IdP for the
userNames it is creating, and keeps trying to pull the victim's users (their ids leaked)
into its own group and to change them. Whatever the interleaving: no 5xx, each userName is
created once, every name the victim's IdP got stays the victim's, and the attacker never
reads, joins or changes a user of the victim's."""

from __future__ import annotations

import threading
from typing import Any

from store.services.tokens import issue_token
from tests.e2e.conftest import Client, LiveServer

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
NAMES = [f"hire{n:02d}@example.com" for n in range(24)]


def _client(live: LiveServer, name: str) -> Client:
    return live.client(token=issue_token(live.store, name, "operator:test", 10**6).secret)


def test_an_attackers_flood_during_the_victims_provisioning_takes_nothing(
    live: LiveServer,
) -> None:
    okta, jc = _client(live, "Okta"), _client(live, "JumpCloud")
    own = jc.post("/Groups", {"schemas": [GROUP], "displayName": "Loot", "members": []})
    assert own.status == 201, own.raw[:300]
    loot = own.json["id"]
    victim: dict[str, str] = {}  # userName -> id, as the victim's IdP created them
    attacker: list[tuple[str, str, int]] = []  # (what, name or id, status)
    done = threading.Event()

    def provision() -> None:
        try:
            for name in NAMES:
                reply = okta.post("/Users", {"schemas": [USER], "userName": name, "active": True})
                attacker.append(("victim-post", name, reply.status))
                if reply.status == 201:
                    victim[name] = reply.json["id"]
        finally:
            done.set()

    def attack() -> None:
        client = live.client(token=jc.token)
        while not done.is_set():
            for name in NAMES:
                body = {"schemas": [USER], "userName": name.upper(), "active": True}
                attacker.append(("post", name, client.post("/Users", body).status))
            for user_id in list(victim.values()):
                add = {"schemas": [PATCH], "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": user_id}]}]}  # fmt: skip
                attacker.append(("add", user_id, client.patch(f"/Groups/{loot}", add).status))
                off = {"schemas": [PATCH], "Operations": [
                    {"op": "replace", "path": "active", "value": False}]}  # fmt: skip
                attacker.append(("off", user_id, client.patch(f"/Users/{user_id}", off).status))
                attacker.append(("get", user_id, client.get(f"/Users/{user_id}").status))

    threads = [threading.Thread(target=provision), threading.Thread(target=attack)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(t.is_alive() for t in threads)

    stolen = _check(okta, attacker, victim)
    group: dict[str, Any] = jc.get(f"/Groups/{loot}").json
    assert {m["value"] for m in group.get("members", [])} == set()
    assert jc.get("/Users").json["totalResults"] == len(stolen)


def _check(okta: Client, attacker: list[tuple[str, str, int]], victim: dict[str, str]) -> set[str]:
    """No 5xx; each name went to one side only; every attempt on the victim's users was
    refused like an unknown id, and they are as the victim's IdP made them. Returns the
    names the attacker got (it may win a race for a name the victim had not yet created)."""
    statuses = {(what, status) for what, _x, status in attacker}
    assert all(status < 500 for _w, status in statuses), sorted(statuses)
    stolen = {name for what, name, status in attacker if what == "post" and status == 201}
    assert not stolen & victim.keys()  # no name both sides got
    assert stolen | victim.keys() == set(NAMES)  # each name went to exactly one side
    for what, user_id, status in attacker:
        if what in ("add", "off", "get") and user_id in victim.values():
            assert status in (400, 404), (what, status)
    for name, user_id in victim.items():
        reply = okta.get(f"/Users/{user_id}")
        assert reply.status == 200 and reply.json["active"] is True, name
        assert reply.json["userName"] == name and "groups" not in reply.json
    return stolen
