"""Real IdP payloads, mutated at random (fixed seed): every answer is 2xx or a SCIM 4xx,
and a refused request leaves the resource it addressed unchanged."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from tests.api.conftest import ENTERPRISE_URN, GROUP_URN, USER_URN, Scim, assert_scim_error

USER_BODY: dict[str, Any] = {
    "schemas": [USER_URN, ENTERPRISE_URN], "userName": "jane@example.com",
    "externalId": "00ujl29u0le5T6Aj10h7", "name": {"givenName": "Jane", "familyName": "Doe"},
    "emails": [{"primary": True, "value": "jane@example.com", "type": "work"}],
    "displayName": "Jane Doe", "active": True, "groups": [], "password": "1mz050nq",
    ENTERPRISE_URN: {"employeeNumber": "701984", "manager": {"value": "x"}},
}  # fmt: skip
PATCHES: list[dict[str, Any]] = [
    {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    {"Operations": [{"op": "replace", "value": {"displayName": "B", "name.givenName": "K",
                                                f"{ENTERPRISE_URN}:employeeNumber": "A"}}]},
    {"Operations": [{"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@x.io"}]},
    {"Operations": [{"op": "add", "path": "members", "value": [{"value": "MEMBER"}]}]},
    {"Operations": [{"op": "remove", "path": 'members[value eq "MEMBER"]'}]},
    {"Operations": [{"op": "Remove", "path": "members", "value": [{"value": "MEMBER"}]}]},
]  # fmt: skip
ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    10**30,
    1.5,
    True,
    "",
    " ",
    "x" * 5000,
    [],
    {},
    [[[]]],
    {"a": {"b": {"c": []}}},
    "\u202e\u0000",
    "False",
    ["a", 1, None],
]


def _mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.7:
        out = dict(value)
        key = rng.choice(list(out))
        roll = rng.random()
        if roll < 0.3:
            del out[key]
        elif roll < 0.5:
            out[key + rng.choice(["", "X", ".value", "[type eq 1]"])] = rng.choice(ODD_VALUES)
        else:
            out[key] = _mutate(out[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and rng.random() < 0.7:
        out_list = list(value)
        i = rng.randrange(len(out_list))
        out_list[i] = _mutate(out_list[i], rng, depth + 1)
        return out_list
    return rng.choice(ODD_VALUES)


def _check(result: Any) -> None:
    assert result.status_code < 500, result.text
    if result.status_code >= 400:
        assert_scim_error(result, result.status_code, result.json.get("scimType"))


def test_mutated_idp_payloads_never_500(scim: Scim) -> None:
    rng = random.Random(7644)
    user = scim.create_user("keep@example.com", displayName="Keep")
    group = scim.create_group("Keep", [user["id"]])
    for _ in range(120):
        target = rng.choice(["post-user", "put-user", "patch-user", "post-group", "patch-group"])
        if target in ("post-user", "put-user"):
            body = _mutate(copy.deepcopy(USER_BODY), rng)
        elif target == "post-group":
            body = _mutate({"schemas": [GROUP_URN], "displayName": "G",
                            "members": [{"value": user["id"]}]}, rng)  # fmt: skip
        else:
            raw = json.dumps(rng.choice(PATCHES)).replace("MEMBER", user["id"])
            body = _mutate(json.loads(raw), rng)
        raw_body = json.dumps(body).encode()
        if target == "post-user":
            result = scim.post("/Users", raw=raw_body)
            if result.status_code == 201:
                scim.delete(f"/Users/{result.json['id']}")
        elif target == "post-group":
            result = scim.post("/Groups", raw=raw_body)
            if result.status_code == 201:
                scim.delete(f"/Groups/{result.json['id']}")
        else:
            kind, ident = (
                ("Users", user["id"]) if target.endswith("user") else ("Groups", group["id"])
            )
            before = scim.get(f"/{kind}/{ident}").json
            method = "PUT" if target == "put-user" else "PATCH"
            result = scim.request(method, f"/{kind}/{ident}", raw=raw_body)
            if result.status_code >= 400:
                assert scim.get(f"/{kind}/{ident}").json == before
            elif target == "put-user":
                scim.put(f"/Users/{ident}", {"schemas": [USER_URN], "userName": "keep@example.com",
                                             "displayName": "Keep"})  # fmt: skip
        _check(result)
