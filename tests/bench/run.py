"""``make bench``: the real server under a bounded concurrent HTTP load, one table per backend.

For SQLite (a fresh file) and PostgreSQL (a fresh database, when 127.0.0.1:5432 answers) it
starts ``trident-scim serve --no-worker`` (the configured default of waitress threads unless
BENCH_SERVER_THREADS says otherwise), seeds the dataset through the store,
then measures over HTTP: creates, userName filters, PATCH active, the paged listing of every
user, single-member group adds up to a large group, session checks, a trivial endpoint of the
same server as the ceiling, and an authenticated no-op (what every SCIM request pays for its
token check, shared rate limit and request log before its own work). Sizes come from the
environment:

  BENCH_USERS     users in the dataset (default 20000; the targets speak of 100000)
  BENCH_GROUP     members the benchmark group grows to (default 10000, at most BENCH_USERS)
  BENCH_REQUESTS  requests per measured operation (default 2000)
  BENCH_THREADS   client threads (default 8)
  BENCH_SERVER_THREADS  SCIM threads of the server (default: [api] threads' default, 0: by
                  backend)
  BENCH_BACKENDS  comma list of sqlite,postgresql (default both; PostgreSQL only if reachable)
  BENCH_TIMEOUT   seconds any one measured run may take (default 300)
  BENCH_DIR       scratch directory to use and keep (default: a temporary one, removed)
  BENCH_KEEP      keep the PostgreSQL database when set
  BENCH_ONLY      "abuse": only the rows of tests/bench/abuse.py (after seeding);
                  "batching": only the large role changes of tests/bench/batching.py
  BENCH_MAPPING_GROUP, BENCH_REPAIR_SHARE  the large role changes (tests/bench/batching.py)

Client and server share the machine, so other load on it lowers every figure: the header and
each table print the load average. On PostgreSQL the seeded tables get ``VACUUM ANALYZE``
(what autovacuum does shortly after a bulk load) before anything is measured.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

from store.config import ApiSettings
from tests.bench.abuse import (
    growth_from_unauthenticated,
    session_during_slow_connections,
    session_under_scim_saturation,
)
from tests.bench.batching import large_changes
from tests.bench.batching import print_targets as print_large_change_targets
from tests.bench.report import print_header, print_table
from tests.bench.scenarios import (
    Bench,
    Row,
    authenticated_floor,
    ceiling,
    compared,
    creates,
    filters,
    group_adds,
    merged_ceiling,
    paged_listing,
    patch_active,
    session_checks,
)
from tests.bench.seed import seed_users, settle, user_name
from tests.bench.servers import (
    ServerProcess,
    cli,
    git_commit,
    last_line,
    postgres_reachable,
    write_config,
)
from tests.bench.sizes import Sizes, scratch_dir, wanted_backends

HUGE_RATE = 1_000_000
HUGE_BURST = 1_000_000
"""The bench token must never be throttled: a large burst too, because at a million requests
a minute the default burst of 10 allows only 0.6 ms of scheduling jitter between threads."""


def trivial_path(bench: Bench) -> str:
    """/livez does no database work; older builds only have /healthz (one SELECT 1)."""
    client = bench.server.client()
    try:
        return "/livez" if client.get("/livez").status == 200 else "/healthz"
    finally:
        client.close()


def measure(server: ServerProcess, config: Path, sizes: Sizes, url: str) -> tuple[list[Row], dict]:
    token = last_line(cli(config, "token", "create", "Bench", "--rate-limit", str(HUGE_RATE)))
    bench = Bench(server, token, sizes.threads, sizes.timeout)
    seeded = sizes.users - sizes.requests
    started = time.perf_counter()
    ids = seed_users(url, 0, seeded, connection="Bench")
    settle(url)
    extra: dict = {"seed_seconds": time.perf_counter() - started}
    path = trivial_path(bench)
    ceiling(bench, path, min(500, sizes.requests))  # warm-up: imports, connections, caches
    ceilings: list[Row] = []

    def against_ceiling(row: Row) -> Row:
        return compared(row, ceilings[-1])

    def next_ceiling() -> None:
        """Right before each operation: other load on the machine varies over a run."""
        ceilings.append(ceiling(bench, path, sizes.requests))

    rows: list[Row] = []
    if os.environ.get("BENCH_ONLY") == "abuse":
        next_ceiling()
        return [merged_ceiling(ceilings), *abuse_rows(bench, config, sizes, url)], extra
    if os.environ.get("BENCH_ONLY") == "batching":
        next_ceiling()
        large_rows, extra["large_changes"] = large_changes(bench, url, ids)
        return [merged_ceiling(ceilings), *large_rows], extra
    next_ceiling()
    rows.append(against_ceiling(authenticated_floor(bench, sizes.requests)))
    next_ceiling()
    create_row, created = creates(bench, seeded, sizes.requests)
    rows.append(against_ceiling(create_row))
    ids += created
    next_ceiling()
    rows.append(against_ceiling(filters(bench, len(ids), sizes.requests)))
    rows.append(filters(bench, len(ids), min(500, sizes.requests), threads=1))
    next_ceiling()
    rows.append(against_ceiling(patch_active(bench, ids[-sizes.requests :])))
    rows.append(paged_listing(bench)[0])  # one client, 100 users a page: its own target
    next_ceiling()
    group_row, extra["group"] = group_adds(bench, ids[: sizes.group])
    rows.append(against_ceiling(group_row))
    cookie = last_line(cli(config, "session", "start", user_name(0)))
    next_ceiling()
    rows.append(against_ceiling(session_checks(bench, "control_session", cookie, sizes.requests)))
    rows += abuse_rows(bench, config, sizes, url)
    large_rows, extra["large_changes"] = large_changes(bench, url, ids)
    rows += large_rows
    extra["memory_kb"] = server.memory_kb()
    return [merged_ceiling(ceilings), *rows], extra


def abuse_rows(bench: Bench, config: Path, sizes: Sizes, url: str) -> list[Row]:
    """The session check under SCIM saturation and during slow connections (one client,
    one request at a time: its p99 is the figure), and the request log's growth."""
    cookie = last_line(cli(config, "session", "start", user_name(1)))
    checks = min(300, sizes.requests)
    return [
        session_under_scim_saturation(bench, "control_session", cookie, checks),
        session_during_slow_connections(bench, "control_session", cookie, checks),
        growth_from_unauthenticated(bench, url),
    ]


def run_backend(name: str, url: str, workdir: Path, sizes: Sizes) -> None:
    config = write_config(workdir / f"{name}.toml", url, burst=HUGE_BURST)
    cli(config, "db", "init")
    server = ServerProcess(config, workdir / f"{name}-serve.log", threads=sizes.server_threads)
    began = time.perf_counter()
    with server:
        rows, extra = measure(server, config, sizes, url)
    extra["total_seconds"] = time.perf_counter() - began
    extra["load"] = os.getloadavg()
    print_table(name, rows, extra, sizes.users)
    if "large_changes" in extra:
        print_large_change_targets(extra["large_changes"], rows)


def main() -> int:
    sizes = Sizes.from_env(
        users=20000,
        group=10000,
        timeout=300,
        server_threads=ApiSettings().threads,
        requests_within_users=True,
    )
    wanted = wanted_backends()
    print_header(git_commit(), os.cpu_count() or 0, platform.python_version(), sizes)
    with scratch_dir("trident-bench-") as workdir:
        if "sqlite" in wanted:
            run_backend("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir, sizes)
        if "postgresql" in wanted:
            if postgres_reachable():
                run_postgres(workdir, sizes)
            else:
                print("\nPostgreSQL: 127.0.0.1:5432 not reachable, skipped")
    return 0


def run_postgres(workdir: Path, sizes: Sizes) -> None:
    from tests.support import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        run_backend("PostgreSQL", url, workdir, sizes)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            drop_pg_database(url)


if __name__ == "__main__":
    sys.exit(main())
