"""The measured operations of the benchmark, each a bounded run of real HTTP requests.

Every scenario sends a fixed number of requests over keep-alive connections from a fixed
number of client threads and stops at a deadline; it returns a ``Row`` for the report.
Payloads are the IdPs' own shapes (IDP_QUIRKS): Okta's create and no-path deactivation,
Okta's and JumpCloud's single-member add, Okta's paged import.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from tests.bench.load import GROUP, PATCH, Client, Run, Step, drive, percentile
from tests.bench.seed import okta_user, user_name
from tests.bench.servers import ServerProcess

SCIM = "/scim/v2"


@dataclass
class Row:
    name: str
    requests: int
    seconds: float
    rate: float  # requests per second
    p50_ms: float | None = None
    p99_ms: float | None = None
    notes: list[str] = field(default_factory=list)
    ratio: float | None = None  # rate / ceiling rate, filled in by the report
    cpu_ms: float | None = None  # server CPU per request (user + system), milliseconds


def row_of(name: str, run: Run, ok: set[int], notes: list[str] | None = None) -> Row:
    """A report row; statuses outside ``ok`` and client errors are listed in the notes."""
    values = list(run.latencies.values())
    row = Row(name, run.done, run.wall, run.rate, percentile(values, 50) * 1000,
              percentile(values, 99) * 1000, list(notes or []))  # fmt: skip
    row.cpu_ms = run.server_cpu * 1000 / run.done if run.done else None
    bad = {status: n for status, n in run.status_counts().items() if status not in ok}
    if bad:
        row.notes.append(f"unexpected statuses {bad}")
    if run.errors:
        row.notes.append(f"{len(run.errors)} client errors, first: {run.errors[0]}")
    if run.timed_out:
        row.notes.append("stopped at the deadline")
    return row


@dataclass
class Bench:
    server: ServerProcess
    token: str
    threads: int
    timeout: float

    def client(self) -> Client:
        return self.server.client(self.token)

    def drive(self, step: Step, count: int, threads: int | None = None) -> Run:
        cpu = self.server.cpu_seconds()
        run = drive(self.client, step, count, threads or self.threads, self.timeout)
        run.server_cpu = self.server.cpu_seconds() - cpu
        return run


def ceiling(bench: Bench, path: str, count: int) -> Row:
    """The same client against a trivial endpoint of the same server: no database work."""
    return row_of(f"ceiling: GET {path}", bench.drive(lambda c, i: c.get(path).status, count),
                  {200})  # fmt: skip


def authenticated_floor(bench: Bench, count: int) -> Row:
    """A SCIM endpoint that does no work of its own (a static document): what every SCIM
    operation pays before its own work, i.e. the bearer token check with its database-shared
    rate limit, and the request log."""
    run = bench.drive(lambda c, i: c.get(SCIM + "/ServiceProviderConfig").status, count)
    return row_of("authenticated no-op (GET /ServiceProviderConfig)", run, {200},
                  ["the floor of every SCIM operation: token check, shared rate limit, "
                   "request log"])  # fmt: skip


def compared(row: Row, ceiling_row: Row) -> Row:
    """``row`` with its rate as a fraction of the ceiling measured just before it."""
    row.ratio = row.rate / ceiling_row.rate if ceiling_row.rate else None
    return row


def merged_ceiling(rows: list[Row]) -> Row:
    """One line for the ceiling runs: their medians, and the range of their rates."""

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    merged = Row(f"{rows[0].name} ({len(rows)} runs, medians)", sum(r.requests for r in rows),
                 sum(r.seconds for r in rows), median([r.rate for r in rows]),
                 median([r.p50_ms or 0.0 for r in rows]), median([r.p99_ms or 0.0 for r in rows]),
                 [note for r in rows for note in r.notes], 1.0,
                 median([r.cpu_ms or 0.0 for r in rows]))  # fmt: skip
    low, high = min(r.rate for r in rows), max(r.rate for r in rows)
    merged.notes.append(f"ceiling {low:.0f}-{high:.0f} req/s; each ratio uses the run just "
                        "before that operation")  # fmt: skip
    return merged


def creates(bench: Bench, first: int, count: int) -> tuple[Row, list[str]]:
    """Okta's create body, ``count`` new users numbered from ``first``."""
    ids: dict[int, str] = {}

    def step(client: Client, i: int) -> int:
        reply = client.post(SCIM + "/Users", okta_user(first + i))
        if reply.status == 201:
            ids[i] = reply.json["id"]
        return reply.status

    run = bench.drive(step, count)
    return row_of("create user (POST /Users)", run, {201}), [ids[i] for i in sorted(ids)]


def filters(bench: Bench, population: int, count: int, seed: int = 7, threads: int = 0) -> Row:
    """Okta's lookup before create: ``userName eq`` on existing users, random order. With
    ``threads=1`` the latencies are the service time alone (no queueing behind others)."""
    rng = random.Random(seed)
    picks = [rng.randrange(population) for _ in range(count)]
    misses: list[int] = []

    def step(client: Client, i: int) -> int:
        wanted = f'userName eq "{user_name(picks[i])}"'
        reply = client.get(SCIM + "/Users", params={"filter": wanted, "startIndex": 1,
                                                    "count": 100})  # fmt: skip
        if reply.status == 200 and reply.json["totalResults"] != 1:
            misses.append(i)
        return reply.status

    run = bench.drive(step, count, threads or None)
    notes = [f"{len(misses)} lookups missed"] if misses else []
    name = "filter userName eq (GET /Users?filter=)"
    return row_of(name + (", 1 client" if threads == 1 else ""), run, {200}, notes)


def patch_active(bench: Bench, user_ids: list[str]) -> Row:
    """Okta's deactivation (no-path replace), one per user."""
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}

    def step(client: Client, i: int) -> int:
        return client.patch(f"{SCIM}/Users/{user_ids[i]}", body).status

    return row_of("PATCH active=false (Okta, no path)", bench.drive(step, len(user_ids)), {200})


def paged_listing(bench: Bench, page_size: int = 100) -> tuple[Row, int]:
    """Okta's import: startIndex=1, +count until totalResults, one connection."""
    client = bench.client()
    latencies: list[float] = []
    seen, start, total, bad = 0, 1, None, 0
    deadline = time.monotonic() + bench.timeout
    cpu = bench.server.cpu_seconds()
    began = time.perf_counter()
    try:
        while (total is None or start <= total) and time.monotonic() < deadline:
            t0 = time.perf_counter()
            reply = client.get(SCIM + "/Users", params={"startIndex": start, "count": page_size})
            latencies.append(time.perf_counter() - t0)
            if reply.status != 200:
                bad += 1
                break
            page = reply.json
            total = page["totalResults"]
            seen += len(page["Resources"])
            start += page_size
    finally:
        client.close()
    wall = time.perf_counter() - began
    row = Row(f"paged listing, all users (count={page_size}), 1 client", len(latencies), wall,
              len(latencies) / wall if wall else 0.0, percentile(latencies, 50) * 1000,
              percentile(latencies, 99) * 1000)  # fmt: skip
    row.cpu_ms = (bench.server.cpu_seconds() - cpu) * 1000 / max(1, len(latencies))
    row.notes.append(f"{seen} users in {wall:.1f} s")
    if bad or seen != total:
        row.notes.append(f"INCOMPLETE: saw {seen} of {total}, {bad} failed pages")
    return row, seen


def group_adds(bench: Bench, user_ids: list[str]) -> tuple[Row, dict[str, float]]:
    """One group grows to len(user_ids) members by single-member adds (Okta's form), from
    all client threads at once; first and last tenth compared."""
    created = bench.client().post(SCIM + "/Groups", {"schemas": [GROUP],
                                                     "displayName": "Bench everyone",
                                                     "members": []})  # fmt: skip
    if created.status != 201:
        raise RuntimeError(f"group create failed: {created.status} {created.raw[:300]!r}")
    path = f"{SCIM}/Groups/{created.json['id']}"

    def step(client: Client, i: int) -> int:
        value = [{"value": user_ids[i], "display": user_name(i)}]
        body = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                                                    "value": value}]}  # fmt: skip
        return client.patch(path, body).status

    run = bench.drive(step, len(user_ids))
    ordered = run.ordered()
    tenth = max(1, len(ordered) // 10)
    first, last = percentile(ordered[:tenth], 50), percentile(ordered[-tenth:], 50)
    flat = {"first_p50_ms": first * 1000, "last_p50_ms": last * 1000,
            "ratio": last / first if first else 0.0}  # fmt: skip
    check = bench.client().get(path, params={"attributes": "id"})
    members = _member_count(bench, path)
    notes = [f"first-tenth p50 {flat['first_p50_ms']:.1f} ms, last-tenth p50 "
             f"{flat['last_p50_ms']:.1f} ms, ratio {flat['ratio']:.2f}"]  # fmt: skip
    if check.status != 200 or members != len(set(user_ids[: run.done])):
        notes.append(f"MEMBER COUNT {members} != {run.done}")
    return row_of(f"group add, 1 member per PATCH, to {len(user_ids)}", run, {204}, notes), flat


def _member_count(bench: Bench, path: str) -> int:
    reply = bench.client().get(path)
    return len(reply.json.get("members", [])) if reply.status == 200 else -1


def session_checks(bench: Bench, cookie_name: str, cookie: str, count: int) -> Row:
    """Control's web tier (or nginx auth_request) asking whether a browser is signed in."""
    header = {"Cookie": f"{cookie_name}={cookie}"}

    def step(client: Client, i: int) -> int:
        return client.get("/auth/session", headers=header).status

    return row_of("session check (GET /auth/session)", bench.drive(step, count), {200})
