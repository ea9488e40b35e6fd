"""Fuzzing the running server: thousands of hostile requests, no 5xx, nothing half-written.

A real waitress server on 127.0.0.1 serves the real app over a real store (SQLite file and
PostgreSQL). A seeded generator (``fuzzgen``) sends mutated IdP payloads, random JSON, random
filters, junk query parameters, wrong content types and methods, path traversal, oversize
bodies and bad credentials. For every answer:

- the status is 2xx, or one of the SCIM error statuses below, never 5xx;
- an error is a SCIM error body (``application/scim+json``, Error schema, status as a string);
- a rejected request left the store exactly as it was (full snapshot before and after).

The figures (requests per kind, statuses) are printed at the end: run with ``-s`` to see them.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from store.context import Store
from store.services.roles import set_mapping
from store.services.sessions import start_session
from tests.security import fuzzgen
from tests.security.harness import (
    GROUP_URN,
    USER_URN,
    RunningApi,
    raw_request,
    running_api,
    snapshot,
    snapshot_diff,
)

REQUESTS = {"sqlite": 1500, "postgresql": 800}
"""Requests per backend (PostgreSQL answers more slowly: every request commits a rate-limit
update)."""
SEED = 20260105
ERROR_STATUSES = {400, 401, 404, 405, 409, 412, 413, 415, 429}
BODY_LIMIT = 64 * 1024  # small, so oversize bodies are cheap to send


def _seed(api: RunningApi) -> fuzzgen.Targets:
    """A few users and groups (one mapped to a role, one user with a session), so that a
    half-applied deactivation or membership change would show in the snapshot."""
    users = []
    for i in range(4):
        body = {
            "schemas": [USER_URN],
            "userName": f"seed{i}@example.com",
            "externalId": f"ext-{i}",
            "emails": [{"value": f"seed{i}@example.com", "type": "work", "primary": True}],
            "name": {"givenName": f"G{i}"},
        }
        answer = api.request("POST", "/scim/v2/Users", body)
        assert answer.status == 201, answer.body
        users.append(answer.json["id"])
    groups = []
    for name in ("Engineering", "Support"):
        body = {
            "schemas": [GROUP_URN],
            "displayName": name,
            "members": [{"value": u} for u in users[:2]],
        }
        answer = api.request("POST", "/scim/v2/Groups", body)
        assert answer.status == 201, answer.body
        groups.append(answer.json["id"])
    set_mapping(api.store, "Engineering", "operator", "operator:test")
    start_session(api.store, "seed0@example.com", "operator:test")
    return fuzzgen.Targets(users + ["nope-1"], groups + ["nope-2"])


def _violations(status: int, scim_error: bool, method: str, path: str) -> list[str]:
    problems = []
    if status >= 500:
        problems.append("5xx")
    elif not (200 <= status < 300 or status in ERROR_STATUSES):
        problems.append(f"unexpected status {status}")
    # /auth/session answers Control's web tier (and nginx) in its own small JSON, not SCIM.
    session_check = path == "/auth/session" and status == 401
    if status >= 400 and method != "HEAD" and not scim_error and not session_check:
        problems.append("not a SCIM error body")
    return problems


def _fuzz(api: RunningApi, requests: int, seed: int) -> tuple[Counter[str], Counter[str]]:
    rng = random.Random(seed)
    targets = _seed(api)
    by_status: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    failures: list[str] = []
    before = snapshot(api.store)
    for n in range(requests):
        fuzz = fuzzgen.next_request(rng, targets, BODY_LIMIT)
        headers = {"User-Agent": "fuzz", **fuzz.headers}
        token = api.token if fuzz.token == "" else fuzz.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        answer = raw_request(
            api.port, fuzz.method, fuzz.path, headers, fuzz.body, chunked=fuzz.chunked
        )
        by_status[str(answer.status)] += 1
        by_kind[f"{fuzz.kind} {answer.status}"] += 1
        problems = _violations(answer.status, answer.is_scim_error(), fuzz.method, fuzz.path)
        after = snapshot(api.store)
        if answer.status >= 300 and after != before:
            problems.append(f"store changed by a rejected request: {snapshot_diff(before, after)}")
        if b"root:" in answer.body or b"SQLite format" in answer.body:
            problems.append("file content leaked")
        if problems:
            failures.append(
                f"#{n} {fuzz.kind} {fuzz.method} {fuzz.path[:120]!r} "
                f"body={(fuzz.body or b'')[:200]!r} -> {answer.status} "
                f"{answer.body[:300]!r}: {problems}"
            )
        before = after
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:20])
    return by_status, by_kind


@pytest.mark.slow
def test_fuzzing_the_running_server_never_yields_5xx_nor_changes_on_rejection(
    store: Store, backend: str
) -> None:
    started = time.monotonic()
    with running_api(store, max_body_bytes=BODY_LIMIT) as api:
        by_status, by_kind = _fuzz(api, REQUESTS[backend], SEED)
        # The server is still healthy afterwards.
        assert raw_request(api.port, "GET", "/healthz").status == 200
        assert api.request("GET", "/scim/v2/Users?count=1").status == 200
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz [{backend}]: {sum(by_status.values())} requests in {elapsed:.1f} s; "
        f"statuses {dict(sorted(by_status.items()))}"
    )
    for kind, count in sorted(by_kind.items()):
        print(f"  {kind}: {count}")
    assert sum(by_status.values()) == REQUESTS[backend]
    # The generator reaches the statuses it aims at (it would be a weak test otherwise).
    assert {"400", "401", "404", "405", "413", "415"} <= set(by_status)
    assert any(s.startswith("2") for s in by_status)


FRAMING = [
    (b"GET", b"/scim/v2/Users/\xff\xfe", {}, None),
    (b"GET", b'/scim/v2/Users?filter=userName eq "\xff"', {}, None),
    (b"GET", b"/scim/v2/Users\x00", {}, None),
    (b"POST", b"/scim/v2/Users", {"Content-Length": "abc"}, b"{}"),
    (b"POST", b"/scim/v2/Users", {"Content-Length": "-1"}, b"{}"),
    (b"POST", b"/scim/v2/Users", {"Transfer-Encoding": "chunked"}, b"zz\r\n{}\r\n0\r\n\r\n"),
    (b"GET", b"/scim/v2/Users", {"X-Big": "h" * 300_000}, None),
    (b"G\xffT", b"/scim/v2/Users", {}, None),
]


def test_malformed_http_is_refused_before_the_app_and_changes_nothing(store: Store) -> None:
    """Framing the HTTP parser (waitress) cannot read is refused by it with a 4xx in its own
    plain-text form, before any SCIM code runs; never a 5xx, and the service stays up.

    (One 5xx is right by RFC 7230 §3.3.1 and comes from waitress: a Transfer-Encoding it does
    not implement, e.g. gzip, is answered 501 Not Implemented. The last check covers it.)"""
    with running_api(store) as api:
        before = snapshot(api.store)
        seen = Counter()
        for method, target, headers, body in FRAMING:
            sent = {"Authorization": f"Bearer {api.token}", **headers}
            answer = raw_request(api.port, method, target, sent, body)
            assert 400 <= answer.status < 500, (target, answer.status, answer.body[:200])
            seen[answer.status] += 1
        gzip = {"Authorization": f"Bearer {api.token}", "Transfer-Encoding": "gzip, chunked"}
        answer = raw_request(api.port, "POST", "/scim/v2/Users", gzip, b"0\r\n\r\n")
        assert answer.status == 501 and b"Transfer-Encoding" in answer.body
        assert snapshot(api.store) == before
        assert api.request("GET", "/scim/v2/Users").status == 200
    print(f"\nmalformed HTTP: {len(FRAMING)} requests, statuses {dict(seen)}")
