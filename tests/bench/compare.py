"""``make bench``: trident-scim beside the reference server, the same client, one run.

The reference is python-scim's ``scim2-server`` (in memory, nothing durable; the ``bench``
extra installs it). Both servers run at once on 127.0.0.1; each operation alternates between
the reference and ``trident-scim serve`` on SQLite in a few rounds (``ROUNDS``), with the same
load client (keep-alive connections, ``BENCH_THREADS`` client threads, a fixed request count,
a deadline), so that the ratio compares figures taken under the same load of this shared
machine. Figures of two different runs are not comparable, only the ratios within one run;
the server CPU per request of each side is printed too (less sensitive to the machine's
load than requests a second). Then the same rows for ``trident-scim serve`` on PostgreSQL (a
fresh database, when 127.0.0.1:5432 answers), with no reference beside them.

Operations (the IdPs' own shapes, IDP_QUIRKS): Okta's create; a ``userName eq`` filter;
Okta's no-path PATCH ``active=false``; single-member group adds from all threads until the
group holds every user (p50 of the first and the last tenth: flat or not); the cheapest
authenticated request (GET /ServiceProviderConfig) against ``/livez`` of the same server.

  BENCH_USERS     users in the dataset (default 2000): half seeded over HTTP, half created
  BENCH_REQUESTS  filter, no-op and /livez requests per measurement (default 2000)
  BENCH_THREADS   client threads (default 8)
  BENCH_SERVER_THREADS  SCIM threads of trident-scim serve (default 0: [api] threads' default,
                  by backend)
  BENCH_BACKENDS  comma list of sqlite,postgresql (default both; PostgreSQL only if reachable)
  BENCH_TIMEOUT   seconds any one measured operation may take (default 120: the reference's
                  group adds slow down as the group grows and may stop short of every user;
                  the note under the table says how far each side got)
  BENCH_DIR       scratch directory to use and keep (default: a temporary one, removed)
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.load import GROUP, PATCH, Client, Run, drive, percentile
from tests.bench.reference import ReferenceServer, reference_version
from tests.bench.report import print_header
from tests.bench.seed import okta_user, user_name
from tests.bench.servers import (
    ServerProcess,
    cli,
    git_commit,
    last_line,
    postgres_reachable,
    write_config,
)
from tests.bench.sizes import Sizes, scratch_dir, wanted_backends

HUGE = 1_000_000
"""Rate limit and burst of the bench token: never throttled."""
TARGETS = {"create": 2.0, "filter": 3.0, "patch": 1.5, "group": 50.0, "noop": 0.5}
FLAT = 1.5
"""Group adds are flat when the last tenth's p50 is at most this many times the first's."""


@dataclass
class Side:
    """One server under test: where SCIM lives and how to reach it."""

    label: str
    prefix: str
    make_client: Callable[[], Client]
    cpu_seconds: Callable[[], float]
    base_client: Callable[[], Client] | None = None  # no token, root path (ours: /livez)


@dataclass
class Measure:
    requests: int
    rate: float
    p50_ms: float
    cpu_ms: float | None
    first_p50_ms: float | None = None
    last_p50_ms: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def growth(self) -> float | None:
        if self.first_p50_ms and self.last_p50_ms is not None:
            return self.last_p50_ms / self.first_p50_ms
        return None


ROUNDS = 4
"""Each operation alternates between the servers in this many rounds (reference, ours,
reference, ours...), so that a change of load on the shared machine during the run falls on
both sides alike."""

Step = Callable[[Client, int], int]


@dataclass
class _Tally:
    """One side's requests of one operation, over its rounds."""

    wall: float = 0.0
    cpu: float = 0.0
    latencies: dict[int, float] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stopped: bool = False

    def add(self, run: Run, offset: int, cpu: float) -> None:
        self.wall += run.wall
        self.cpu += cpu
        self.latencies.update({offset + i: t for i, t in run.latencies.items()})
        self.statuses.update(run.statuses.values())
        self.errors += run.errors
        self.stopped = self.stopped or run.timed_out

    def measure(self, label: str, ok: set[int], tenths: bool = False) -> Measure:
        done = len(self.latencies)
        values = list(self.latencies.values())
        result = Measure(done, done / self.wall if self.wall else 0.0,
                         percentile(values, 50) * 1000,
                         self.cpu * 1000 / done if done else None)  # fmt: skip
        if tenths and values:
            ordered = [self.latencies[i] for i in sorted(self.latencies)]
            tenth = max(1, len(ordered) // 10)
            result.first_p50_ms = percentile(ordered[:tenth], 50) * 1000
            result.last_p50_ms = percentile(ordered[-tenth:], 50) * 1000
        bad = {status: n for status, n in self.statuses.items() if status not in ok}
        if bad:
            result.notes.append(f"{label}: unexpected statuses {bad}")
        if self.errors:
            result.notes.append(f"{label}: {len(self.errors)} client errors: {self.errors[0]}")
        if self.stopped:
            result.notes.append(f"{label}: stopped at the deadline after {done} requests")
        return result


def alternate(sides: list[Side], steps: dict[str, Step], count: int, ok: set[int],
              sizes: Sizes, tenths: bool = False) -> dict[str, Measure]:  # fmt: skip
    """``count`` requests per side, in ``ROUNDS`` alternating rounds of consecutive indexes
    (each side's ``step`` gets 0..count-1 once). A side past ``sizes.timeout`` seconds in
    all stops there."""
    tallies = {side.label: _Tally() for side in sides}
    chunk = max(1, -(-count // ROUNDS))
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        for side in sides:
            tally = tallies[side.label]
            left = sizes.timeout - tally.wall
            if tally.stopped or left <= 0:
                tally.stopped = True
                continue
            step = steps[side.label]
            cpu = side.cpu_seconds()
            run = drive(side.make_client, lambda c, i, s=step, f=first: s(c, f + i), size,
                        sizes.threads, left)  # fmt: skip
            tally.add(run, first, side.cpu_seconds() - cpu)
    return {label: tally.measure(label, ok, tenths) for label, tally in tallies.items()}


def post_users(side: Side, first: int, ids: dict[int, str]) -> Step:
    def step(client: Client, i: int) -> int:
        reply = client.post(side.prefix + "/Users", okta_user(first + i))
        if reply.status == 201:
            ids[i] = reply.json["id"]
        return reply.status

    return step


def filters(side: Side, picks: list[int], misses: list[int]) -> Step:
    def step(client: Client, i: int) -> int:
        wanted = f'userName eq "{user_name(picks[i])}"'
        reply = client.get(side.prefix + "/Users", params={"filter": wanted, "startIndex": 1,
                                                           "count": 100})  # fmt: skip
        if reply.status == 200 and reply.json["totalResults"] != 1:
            misses.append(i)
        return reply.status

    return step


OKTA_DEACTIVATE = {"schemas": [PATCH], "Operations": [{"op": "replace",
                                                       "value": {"active": False}}]}  # fmt: skip


def patch_active(side: Side, user_ids: list[str]) -> Step:
    """Okta's deactivation (no-path replace); the reference answers 204, we answer 200."""

    def step(client: Client, i: int) -> int:
        return client.patch(f"{side.prefix}/Users/{user_ids[i]}", OKTA_DEACTIVATE).status

    return step


def new_group(side: Side) -> str:
    client = side.make_client()
    try:
        body = {"schemas": [GROUP], "members": [], "displayName": "Bench everyone"}
        created = client.post(side.prefix + "/Groups", body)
    finally:
        client.close()
    if created.status != 201:
        raise RuntimeError(f"{side.label}: group create {created.status} {created.raw[:300]!r}")
    return f"{side.prefix}/Groups/{created.json['id']}"


def group_adds(path: str, user_ids: list[str]) -> Step:
    """One group grows from empty to every user by single-member adds (Okta's form)."""

    def step(client: Client, i: int) -> int:
        value = [{"value": user_ids[i], "display": user_name(i)}]
        body = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                                                    "value": value}]}  # fmt: skip
        return client.patch(path, body).status

    return step


def member_count(side: Side, path: str) -> int:
    client = side.make_client()
    try:
        return len(client.get(path).json.get("members") or [])
    finally:
        client.close()


def noop(side: Side) -> Step:
    path = side.prefix + "/ServiceProviderConfig"
    return lambda c, i: c.get(path).status


def livez(c: Client, i: int) -> int:
    return c.get("/livez").status


@dataclass
class Line:
    name: str
    key: str  # TARGETS key, "" for none
    base: Measure | None
    ours: Measure
    base_label: str = "reference"

    @property
    def ratio(self) -> float | None:
        if self.base is None or not self.base.rate:
            return None
        return self.ours.rate / self.base.rate

    @property
    def cpu_ratio(self) -> float | None:
        if self.base is None or not self.base.cpu_ms or not self.ours.cpu_ms:
            return None
        return self.base.cpu_ms / self.ours.cpu_ms

    def verdict(self) -> str:
        target = TARGETS.get(self.key)
        if target is None or self.ratio is None:
            return "-"
        met = self.ratio >= target
        if self.key == "group":
            met = met and (self.ours.growth or 99.0) <= FLAT
            return f">= {target:g}x, flat: {'met' if met else 'NOT met'}"
        return f">= {target:g}x: {'met' if met else 'NOT met'}"


def run_comparison(ref: Side | None, ours: Side, sizes: Sizes) -> list[Line]:
    """Every operation on both servers, alternating (``alternate``)."""
    sides = [s for s in (ref, ours) if s]
    seeded, created = sizes.users - sizes.users // 2, sizes.users // 2
    found: dict[str, dict[int, str]] = {side.label: {} for side in sides}
    alternate(sides, {s.label: post_users(s, 0, found[s.label]) for s in sides}, seeded,
              {201}, sizes)  # fmt: skip
    alternate(sides, {s.label: noop(s) for s in sides}, 500, {200}, sizes)  # warm-up
    lines: list[Line] = []

    def line(name: str, key: str, measured: dict[str, Measure]) -> None:
        lines.append(Line(name, key, measured.get(ref.label) if ref else None,
                          measured[ours.label]))  # fmt: skip

    more: dict[str, dict[int, str]] = {side.label: {} for side in sides}
    steps = {s.label: post_users(s, seeded, more[s.label]) for s in sides}
    line("create user (POST /Users)", "create", alternate(sides, steps, created, {201}, sizes))
    ids = {label: [found[label][i] for i in sorted(found[label])]
           + [more[label][i] for i in sorted(more[label])] for label in found}  # fmt: skip
    rng = random.Random(7)
    picks = [rng.randrange(sizes.users) for _ in range(sizes.requests)]
    misses: list[int] = []
    steps = {s.label: filters(s, picks, misses) for s in sides}
    line("filter userName eq", "filter", alternate(sides, steps, sizes.requests, {200}, sizes))
    if misses:
        lines[-1].ours.notes.append(f"{len(misses)} lookups missed")
    steps = {s.label: patch_active(s, ids[s.label][seeded:]) for s in sides}
    line("PATCH active=false (Okta, no path)", "patch",
         alternate(sides, steps, created, {200, 204}, sizes))  # fmt: skip
    paths = {s.label: new_group(s) for s in sides}
    steps = {s.label: group_adds(paths[s.label], ids[s.label]) for s in sides}
    measured = alternate(sides, steps, sizes.users, {200, 204}, sizes, tenths=True)
    for side in sides:
        members = member_count(side, paths[side.label])
        if members != measured[side.label].requests:
            measured[side.label].notes.append(f"{side.label}: MEMBER COUNT {members}")
    line(f"group add, 1 member per PATCH, to {sizes.users}", "group", measured)
    steps = {s.label: noop(s) for s in sides}
    line("authenticated no-op (GET /ServiceProviderConfig)", "",
         alternate(sides, steps, sizes.requests, {200}, sizes))  # fmt: skip
    # The no-op against /livez of the same server, alternating the two.
    assert ours.base_client is not None
    livez_side = Side("/livez", ours.prefix, ours.base_client, ours.cpu_seconds)
    measured = alternate([livez_side, ours], {"/livez": livez, ours.label: noop(ours)},
                         sizes.requests, {200}, sizes)  # fmt: skip
    lines.append(Line("authenticated no-op vs GET /livez", "noop", measured["/livez"],
                      measured[ours.label], "/livez"))  # fmt: skip
    return lines


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_lines(title: str, lines: list[Line], reference: str | None) -> None:
    base_name = reference or "(no reference)"
    headers = ["operation", f"{base_name} req/s", "p50 ms", "CPU ms/req", "trident req/s",
               "p50 ms", "CPU ms/req", "ratio", "CPU ratio", "target (on ratio)"]  # fmt: skip
    rows = []
    for line in lines:
        base = line.base
        label = line.name
        if line.base_label != "reference":
            label += f" (baseline: {line.base_label} of the same server)"
        rows.append([
            label,
            _fmt(base.rate if base else None), _fmt(base.p50_ms if base else None, 1),
            _fmt(base.cpu_ms if base else None, 2),
            _fmt(line.ours.rate), _fmt(line.ours.p50_ms, 1), _fmt(line.ours.cpu_ms, 2),
            "-" if line.ratio is None else f"{line.ratio:.2f}x",
            "-" if line.cpu_ratio is None else f"{line.cpu_ratio:.2f}x", line.verdict(),
        ])  # fmt: skip
    print(f"\n== {title} ==")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        "ratio: our requests a second over the baseline's, measured in alternating rounds; "
        "CPU ratio: the baseline's server CPU per request over ours."
    )
    for line in lines:
        if line.ours.first_p50_ms is not None:
            parts = [f"trident {_growth(line.ours)}"]
            if line.base is not None:
                parts.insert(0, f"{base_name} {_growth(line.base)}")
            print(f"  {line.name}: p50 first tenth -> last tenth: " + "; ".join(parts))
        for note in (line.base.notes if line.base else []) + line.ours.notes:
            print(f"  {line.name}: {note}")


def _growth(m: Measure) -> str:
    return (
        f"{m.first_p50_ms:.1f} -> {m.last_p50_ms:.1f} ms "
        f"(x{m.growth:.2f}{', flat' if (m.growth or 99) <= FLAT else ', NOT flat'})"
    )


def our_side(label: str, url: str, workdir: Path, sizes: Sizes) -> tuple[ServerProcess, Side]:
    config = write_config(workdir / f"{label}.toml", url, burst=HUGE)
    cli(config, "db", "init")
    token = last_line(cli(config, "token", "create", "Bench", "--rate-limit", str(HUGE)))
    server = ServerProcess(config, workdir / f"{label}-serve.log", threads=sizes.server_threads)
    server.start().wait_ready()
    side = Side(
        label, "/scim/v2", lambda: server.client(token), server.cpu_seconds, lambda: server.client()
    )
    return server, side


def sqlite_run(workdir: Path, sizes: Sizes) -> None:
    version = reference_version()
    ref_server: ReferenceServer | None = None
    ref: Side | None = None
    if version is None:
        print("\nscim2-server is not installed (pip install -e '.[bench]'): no reference")
    else:
        token = "bench-" + os.urandom(12).hex()
        ref_server = ReferenceServer(token, workdir / "reference.log").start()
        ref = Side(
            f"scim2-server {version}", ref_server.prefix, ref_server.client, ref_server.cpu_seconds
        )
    server, ours = our_side("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir, sizes)
    began = time.perf_counter()
    try:
        lines = run_comparison(ref, ours, sizes)
    finally:
        server.stop()
        if ref_server is not None:
            ref_server.stop()
    title = (
        f"SQLite beside {ref.label if ref else 'no reference'}: {sizes.users} users, "
        f"{sizes.threads} clients, {time.perf_counter() - began:.0f} s, load average "
        "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    print_lines(title, lines, ref.label if ref else None)


def postgres_run(workdir: Path, sizes: Sizes) -> None:
    from tests.support import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        server, ours = our_side("PostgreSQL", url, workdir, sizes)
        began = time.perf_counter()
        try:
            lines = run_comparison(None, ours, sizes)
        finally:
            server.stop()
    finally:
        drop_pg_database(url)
    title = (
        f"PostgreSQL, no reference: {sizes.users} users, {sizes.threads} clients, "
        f"{time.perf_counter() - began:.0f} s, load average "
        "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    print_lines(title, lines, None)


def main() -> int:
    sizes = Sizes.from_env(users=2000, timeout=120, server_threads=0)
    wanted = wanted_backends()
    print_header(git_commit(), os.cpu_count() or 0, platform.python_version(), sizes)
    print(
        "Client and servers share this machine: only the ratios within this run mean "
        "anything, never a figure compared with another run's."
    )
    with scratch_dir("trident-compare-") as workdir:
        if "sqlite" in wanted:
            sqlite_run(workdir, sizes)
        if "postgresql" in wanted:
            if postgres_reachable():
                postgres_run(workdir, sizes)
            else:
                print("\nPostgreSQL: 127.0.0.1:5432 not reachable, skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
