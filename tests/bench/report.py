"""Printing the benchmark: a header (commit, machine), then one plain table per backend with
each operation's rate as a fraction of the trivial-endpoint ceiling, and the targets."""

from __future__ import annotations

import os
import platform
from typing import Any

from store.config import POSTGRESQL_THREADS, SQLITE_THREADS
from tests.bench.scenarios import Row

TARGET_RATIO = 0.5
TARGET_FLAT = 1.5
TARGET_LISTING_S = 60.0
TARGET_FILTER_P99_MS = 20.0
TARGET_RSS_MB = 200.0
TARGET_SESSION_SATURATED_P99_MS = 50.0
TARGET_SESSION_SLOW_P99_MS = 100.0


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _server_threads(threads: int) -> str:
    if threads > 0:
        return f"{threads} SCIM threads"
    return (
        f"SCIM threads by backend ({SQLITE_THREADS} on SQLite, {POSTGRESQL_THREADS} on PostgreSQL)"
    )


def print_header(commit: str, cpus: int, python: str, sizes: Any) -> None:
    print("TridentStack Control SCIM benchmark")
    print(f"commit {commit}; {cpus} CPU(s) (nproc), {_cpu_model()}; Python {python}; "
          f"{platform.system()} {platform.release()}")  # fmt: skip
    print(
        f"dataset {sizes.users} users; group grows to {sizes.group}; {sizes.requests} "
        f"requests per operation; {sizes.threads} client threads; server: "
        f"{_server_threads(sizes.server_threads)}, client and server on this machine"
    )
    print("load average before the run: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(backend: str, rows: list[Row], extra: dict[str, Any], users: int) -> None:
    headers = ["operation", "requests", "req/s", "p50 ms", "p99 ms", "x ceiling", "CPU ms/req"]
    cells = [[r.name, str(r.requests), _fmt(r.rate, 0), _fmt(r.p50_ms, 2), _fmt(r.p99_ms, 2),
              _fmt(r.ratio, 2), _fmt(r.cpu_ms, 2)] for r in rows]  # fmt: skip
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = lambda cs: "  ".join(  # noqa: E731
        c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cs)
    )
    print(f"\n== {backend} ({users} users; run took {extra['total_seconds']:.0f} s, seeding "
          f"{extra['seed_seconds']:.0f} s) ==")  # fmt: skip
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for cs in cells:
        print(line(cs))
    for row in rows:
        for note in row.notes:
            print(f"  {row.name}: {note}")
    _print_targets(rows, extra)


def _print_targets(rows: list[Row], extra: dict[str, Any]) -> None:
    memory = extra.get("memory_kb", {})
    rss, peak = memory.get("VmRSS", 0) / 1024, memory.get("VmHWM", 0) / 1024
    if memory:  # read at the end of a whole run, not of a run of some rows (BENCH_ONLY)
        print(f"API process memory: RSS {rss:.0f} MB now, peak {peak:.0f} MB")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*extra.get("load", (0, 0, 0))))
    print("targets:")
    compared = [r for r in rows[1:] if r.ratio is not None]
    if compared:  # not in a run of the abuse rows alone (BENCH_ONLY=abuse)
        worst = min(compared, key=lambda r: r.ratio or 0.0)
        _target("every SCIM operation >= 0.5x ceiling", (worst.ratio or 0) >= TARGET_RATIO,
                f"lowest {worst.ratio:.2f}x ({worst.name})")  # fmt: skip
    group = extra.get("group")
    if group:
        _target("group adds flat: last/first tenth p50 <= 1.5", group["ratio"] <= TARGET_FLAT,
                f"{group['ratio']:.2f}")  # fmt: skip
    for row in rows:
        if row.name.startswith("paged listing"):
            _target("full paged listing < 60 s", row.seconds < TARGET_LISTING_S,
                    f"{row.seconds:.1f} s")  # fmt: skip
        elif row.name.startswith("filter"):
            who = "1 client" if "1 client" in row.name else "all clients"
            _target(f"filter p99 < 20 ms ({who})", (row.p99_ms or 99) < TARGET_FILTER_P99_MS,
                    f"{row.p99_ms:.1f} ms")  # fmt: skip
        elif row.name.startswith("session check p99, SCIM saturated"):
            _target("session check p99 < 50 ms under SCIM saturation",
                    (row.p99_ms or 999) < TARGET_SESSION_SATURATED_P99_MS,
                    f"{row.p99_ms:.1f} ms")  # fmt: skip
        elif row.name.startswith("session check p99 during"):
            _target("session check p99 < 100 ms during slow connections",
                    (row.p99_ms or 999) < TARGET_SESSION_SLOW_P99_MS,
                    f"{row.p99_ms:.1f} ms")  # fmt: skip
    if peak:
        _target("API process RSS < 200 MB", 0 < peak < TARGET_RSS_MB, f"peak {peak:.0f} MB")


def _target(name: str, met: bool, value: str) -> None:
    print(f"  {'met    ' if met else 'NOT met'}  {name}: {value}")
