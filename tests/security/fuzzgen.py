"""Deterministic generators of hostile requests for the fuzz test.

Every function takes a seeded ``random.Random``: the same seed gives the same requests, so a
failure can be replayed. The request kinds mirror the attack surface of the SCIM API: real IdP
payloads mutated, random JSON, random filters, junk query parameters, wrong content types and
methods, path traversal, oversize bodies and bad credentials.
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.scim.payloads import ENTRA_CREATE, JUMPCLOUD_CREATE, OKTA_CREATE
from tests.security.harness import GROUP_URN, PATCH_URN, SCIM_JSON

ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass
class Fuzz:
    """One request to send. ``kind`` names the generator (for the summary)."""

    kind: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = ""  # "" = the valid token
    chunked: bool = False


@dataclass
class Targets:
    """Ids of resources that exist when the fuzzing starts (PUT/PATCH aim at them)."""

    users: list[str]
    groups: list[str]


JUNK_STRINGS = [
    "",
    " ",
    "\u0000",
    "\ud800",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "NaN",
    "💥" * 40,
    "a" * 5000,
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "$(open('/tmp/x','w'))",
    "../../etc/passwd",
    "%00",
    "\u202e\u0041",
    "ß",
    "ǅ",
    "\r\nX-Injected: 1",
    "{}",
    "[]",
]
UNKNOWN_URNS = ["urn:nope", "urn:ietf:params:scim:schemas:core:2.0:Nope", "", 42, None]
FILTER_ATTRS = [
    "userName",
    "USERNAME",
    "externalId",
    "displayName",
    "active",
    "emails",
    "emails.value",
    "emails.type",
    "name.givenName",
    "name.familyName",
    "id",
    "meta.created",
    "meta.lastModified",
    "members.value",
    "members",
    "password",
    "nickName",
    "title",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "x",
    "",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
]
FILTER_OPS = ["eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le", "EQ", "xx", "==", ""]
FILTER_VALUES = [
    '"jane@example.com"',
    '"x"',
    "true",
    "false",
    "null",
    "42",
    "-1.5e10",
    '"2024-01-01T00:00:00Z"',
    '"unterminated',
    "'single'",
    '"\\u0000"',
    '"' + "v" * 3000 + '"',
    "1e999",
    "NaN",
    '"a\\"b"',
    "[",
    "]",
    "",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND", "FOO"]
CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/json-patch+json",
    "text/json",
    "application/scim",
    "*/*",
    "application",
    "\u00e9/\u00e8",
]
TRAVERSALS = [
    "/scim/v2/Users/../../etc/passwd",
    "/scim/v2/Users/..%2f..%2fetc%2fpasswd",
    "/scim/v2/Users/%2e%2e/%2e%2e/etc/passwd",
    "/scim/v2/Users/%252e%252e%252fetc%252fpasswd",
    "/scim/v2/Users/..%5c..%5cwindows%5cwin.ini",
    "/scim/v2/../../../../etc/shadow",
    "/scim/v2/Groups/%2e%2e%2f%2e%2e%2f",
    "/scim/v2/Users/%00",
    "/scim/v2/Users/%c0%ae%c0%ae/",
    "//etc/passwd",
    "/scim/v2/Users/....//....//etc/passwd",
    "/scim/v2/Schemas/../../config.toml",
    "/scim/v2/Users/.%2e/.%2e/trident-scim.db",
    "/scim/v2/ResourceTypes/..%2F..%2F",
    "/static/../../etc/passwd",
    "/scim/v2/Users/~root",
    "/scim/v2/Users/%ff%fe",
]
ROUTES = [
    "/scim/v2/Users",
    "/scim/v2/Groups",
    "/scim/v2/Users/.search",
    "/scim/v2/.search",
    "/scim/v2/Groups/.search",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/Schemas",
    "/scim/v2/ResourceTypes",
    "/scim/v2/Bulk",
    "/scim/v2/Me",
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value: every type, nulls, huge strings, odd numbers, some nesting."""
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice(
            [
                None,
                True,
                False,
                0,
                -1,
                2**63,
                2**70,
                1.5,
                -0.0,
                1e308,
                rng.choice(JUNK_STRINGS),
                "x" * rng.choice([1, 300, 9000]),
            ]
        )
    if roll < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [
        "userName",
        "schemas",
        "Operations",
        "op",
        "path",
        "value",
        "members",
        "emails",
        "active",
        "id",
        "displayName",
        rng.choice(JUNK_STRINGS),
    ]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def deep(rng: random.Random) -> str:
    """A placeholder that ``_encode`` turns into nesting deeper than json.dumps can write."""
    return f"__DEEP_{rng.choice([30, 200, 900, 5000])}_{rng.choice(['a', 'o'])}__"


def _expand_deep(text: str) -> str:
    for match in set(re.findall(r'"__DEEP_(\d+)_([ao])__"', text)):
        levels, shape = int(match[0]), match[1]
        opened, closed = (
            ("[" * levels, "]" * levels) if shape == "a" else ('{"a":' * levels, "}" * levels)
        )
        text = text.replace(f'"__DEEP_{match[0]}_{shape}__"', f'{opened}"bottom"{closed}')
    return text


def _mutate_value(rng: random.Random, doc: Any) -> Any:
    """Replace one random spot of ``doc`` (walked down at random) with junk."""
    junk = rng.choice([random_json(rng), deep(rng), None, "y" * 20_000, rng.choice(UNKNOWN_URNS)])
    if not isinstance(doc, dict | list) or not doc or rng.random() < 0.2:
        return junk
    if isinstance(doc, dict):
        key = rng.choice(list(doc) + ["schemas", "unknownAttr", "urn:x:y:Z"])
        doc[key] = _mutate_value(rng, copy.deepcopy(doc.get(key))) if rng.random() < 0.5 else junk
    else:
        index = rng.randrange(len(doc))
        doc[index] = _mutate_value(rng, doc[index])
    return doc


def _encode(rng: random.Random, doc: Any) -> bytes:
    """JSON text, sometimes broken at the text level the way a JSON library would not."""
    text = _expand_deep(json.dumps(doc, allow_nan=True))
    roll = rng.random()
    if roll < 0.08 and text.startswith("{") and len(text) > 2:
        return ('{"userName":"dup@example.com",' + text[1:]).encode()  # duplicate keys
    if roll < 0.16:
        data = text.encode()
        at = rng.randrange(len(data) + 1)
        return data[:at] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]) + data[at:]
    if roll < 0.22:
        return text.replace("true", "NaN", 1).replace("false", "-Infinity", 1).encode()
    if roll < 0.27:
        return text[: rng.randrange(len(text) + 1)].encode()  # truncated
    if roll < 0.30:
        return b"\xef\xbb\xbf" + text.encode()  # UTF-8 BOM
    if roll < 0.32:
        return text.encode("utf-16")
    return text.encode("utf-8", "surrogatepass")


def _base_payload(rng: random.Random, targets: Targets) -> tuple[str, str, Any]:
    """(method, path, body) of a real-shaped IdP request."""
    user = rng.choice(targets.users)
    group = rng.choice(targets.groups)
    choices: list[tuple[str, str, Any]] = [
        ("POST", "/scim/v2/Users", rng.choice([OKTA_CREATE, ENTRA_CREATE, JUMPCLOUD_CREATE])),
        ("PUT", f"/scim/v2/Users/{user}", rng.choice([OKTA_CREATE, JUMPCLOUD_CREATE])),
        (
            "POST",
            "/scim/v2/Groups",
            {
                "schemas": [GROUP_URN, ADSCIM],
                "displayName": "Eng",
                "members": [{"value": user, "display": "x"}],
            },
        ),
        (
            "PUT",
            f"/scim/v2/Groups/{group}",
            {"schemas": [GROUP_URN], "displayName": "Ops", "members": []},
        ),
        (
            "PATCH",
            f"/scim/v2/Users/{user}",
            {
                "schemas": [PATCH_URN],
                "Operations": [
                    {"op": "Replace", "path": "active", "value": "False"},
                    {
                        "op": "Replace",
                        "path": 'emails[type eq "work"].value',
                        "value": "b@example.com",
                    },
                    {"op": "replace", "value": {"displayName": "B", "name.givenName": "K"}},
                ],
            },
        ),
        (
            "PATCH",
            f"/scim/v2/Groups/{group}",
            {
                "schemas": [PATCH_URN],
                "Operations": [
                    {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user}]},
                    {"op": "remove", "path": f'members[value eq "{user}"]'},
                    {"op": "replace", "value": {"id": group, "displayName": "Eng"}},
                ],
            },
        ),
        (
            "POST",
            "/scim/v2/Users/.search",
            {"schemas": [SEARCH_URN], "filter": 'userName eq "a"', "count": 5},
        ),
    ]
    method, path, body = rng.choice(choices)
    return method, path, copy.deepcopy(body)


def mutated_payload(rng: random.Random, targets: Targets) -> Fuzz:
    method, path, body = _base_payload(rng, targets)
    for _ in range(rng.randint(1, 3)):
        body = _mutate_value(rng, body)
    return Fuzz(
        "mutated-idp-payload", method, path, _encode(rng, body), {"Content-Type": SCIM_JSON}
    )


def random_body(rng: random.Random, targets: Targets) -> Fuzz:
    method = rng.choice(["POST", "PUT", "PATCH"])
    path = rng.choice(
        [
            *ROUTES[:5],
            f"/scim/v2/Users/{rng.choice(targets.users)}",
            f"/scim/v2/Groups/{rng.choice(targets.groups)}",
        ]
    )
    return Fuzz(
        "random-json",
        method,
        path,
        _encode(rng, random_json(rng)),
        {"Content-Type": rng.choice([SCIM_JSON, "application/json"])},
    )


def random_filter_text(rng: random.Random) -> str:
    parts: list[str] = []
    for i in range(rng.randint(1, 6)):
        if i:
            parts.append(rng.choice(["and", "or", "AND", "&&", "and not", ""]))
        term = f"{rng.choice(FILTER_ATTRS)} {rng.choice(FILTER_OPS)} {rng.choice(FILTER_VALUES)}"
        if rng.random() < 0.2:
            term = f"not ({term})"
        if rng.random() < 0.15:
            term = rng.choice(["(", "((", ")", "[", "]"]) + term
        parts.append(term)
    return " ".join(parts)


def random_filter(rng: random.Random, targets: Targets) -> Fuzz:
    text = random_filter_text(rng)
    if rng.random() < 0.3:
        body = {"schemas": [SEARCH_URN], "filter": text}
        path = rng.choice(["/scim/v2/Users/.search", "/scim/v2/Groups/.search", "/scim/v2/.search"])
        return Fuzz(
            "random-filter", "POST", path, json.dumps(body).encode(), {"Content-Type": SCIM_JSON}
        )
    path = rng.choice(["/scim/v2/Users", "/scim/v2/Groups"])
    return Fuzz("random-filter", "GET", f"{path}?filter={quote(text, safe='')}")


def bad_query(rng: random.Random, targets: Targets) -> Fuzz:
    junk = [
        "-1",
        "0",
        "abc",
        "1.5",
        "1e3",
        "99999999999999999999999999",
        "-99999999999999",
        "",
        "%00",
        "0x10",
        " 5",
        "5 ",
        "½",
        "١٢",
        "null",
        "[]",
    ]
    names = [
        "startIndex",
        "count",
        "sortBy",
        "sortOrder",
        "attributes",
        "excludedAttributes",
        "STARTINDEX",
        "filter",
        "unknown",
    ]
    pairs = [
        (rng.choice(names), rng.choice([*junk, *FILTER_ATTRS, "password", "members"]))
        for _ in range(rng.randint(1, 4))
    ]
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs)
    path = rng.choice(
        ["/scim/v2/Users", "/scim/v2/Groups", f"/scim/v2/Users/{rng.choice(targets.users)}"]
    )
    return Fuzz("bad-query-params", "GET", f"{path}?{query}")


def wrong_content_type(rng: random.Random, targets: Targets) -> Fuzz:
    method, path, body = _base_payload(rng, targets)
    return Fuzz(
        "wrong-content-type",
        method,
        path,
        json.dumps(body).encode(),
        {"Content-Type": rng.choice(CONTENT_TYPES)},
    )


def wrong_method(rng: random.Random, targets: Targets) -> Fuzz:
    path = rng.choice([*ROUTES, "/scim/v2/Users/nope-0", "/healthz", "/auth/session"])
    method = rng.choice(METHODS)
    if (
        method == "DELETE"
        and path.startswith("/scim/v2/Users/")
        and path != "/scim/v2/Users/nope-0"
    ):
        method = "PUT"
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    return Fuzz("wrong-method", method, path, body, {"Content-Type": SCIM_JSON})


def traversal(rng: random.Random, targets: Targets) -> Fuzz:
    return Fuzz(
        "path-traversal",
        rng.choice(["GET", "DELETE", "PUT"]),
        rng.choice(TRAVERSALS),
        b"{}",
        {"Content-Type": SCIM_JSON},
    )


def oversize(rng: random.Random, targets: Targets, limit: int) -> Fuzz:
    size = limit + rng.choice([1, 100, limit, 4 * limit])
    body = b'{"userName":"' + b"o" * size + b'"}'
    return Fuzz(
        "oversize-body",
        rng.choice(["POST", "PUT", "PATCH"]),
        "/scim/v2/Users",
        body,
        {"Content-Type": SCIM_JSON},
        chunked=rng.random() < 0.3,
    )


def bad_credentials(rng: random.Random, targets: Targets) -> Fuzz:
    token = rng.choice(
        [
            None,
            "tscim_" + "A" * 43,
            "tcs_" + "B" * 43,
            "x",
            "Bearer",
            "a b",
            "tscim_" + "é" * 43,
            "ghp_" + "C" * 36,
            "tscim_" + "D" * 500,
        ]
    )
    method, path, body = _base_payload(rng, targets)
    return Fuzz(
        "bad-credentials",
        method,
        path,
        json.dumps(body).encode(),
        {"Content-Type": SCIM_JSON},
        token=token,
    )


GENERATORS = [
    (mutated_payload, 30),
    (random_body, 15),
    (random_filter, 15),
    (bad_query, 10),
    (wrong_content_type, 6),
    (wrong_method, 8),
    (traversal, 6),
    (bad_credentials, 4),
]


def next_request(rng: random.Random, targets: Targets, body_limit: int) -> Fuzz:
    if rng.random() < 0.04:
        return oversize(rng, targets, body_limit)
    generators, weights = zip(*GENERATORS, strict=True)
    return rng.choices(generators, weights)[0](rng, targets)
