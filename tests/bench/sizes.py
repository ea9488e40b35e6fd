"""The sizes and scratch space both benchmarks read from the environment.

  BENCH_USERS, BENCH_GROUP, BENCH_REQUESTS, BENCH_THREADS, BENCH_TIMEOUT,
  BENCH_SERVER_THREADS  sizes (each bench passes its own defaults)
  BENCH_BACKENDS  comma list of sqlite,postgresql (default both)
  BENCH_DIR       scratch directory to use and keep (default: a temporary one, removed)

An unset or empty variable takes the bench's default.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: object) -> str:
    return os.environ.get(name) or str(default)


@dataclass(frozen=True)
class Sizes:
    users: int
    group: int
    requests: int
    threads: int
    timeout: float
    server_threads: int

    @classmethod
    def from_env(
        cls,
        *,
        users: int,
        timeout: float,
        server_threads: int,
        group: int | None = None,
        requests_within_users: bool = False,
    ) -> Sizes:
        """``group`` None: the group grows to every user (BENCH_GROUP is not read).
        ``requests_within_users``: at most half the users are created by the measured
        requests (the rest are seeded)."""
        count = max(100, int(_env("BENCH_USERS", users)))
        requests = max(10, int(_env("BENCH_REQUESTS", 2000)))
        return cls(
            users=count,
            group=count if group is None else min(count, max(10, int(_env("BENCH_GROUP", group)))),
            requests=min(requests, count // 2) if requests_within_users else requests,
            threads=max(1, int(_env("BENCH_THREADS", 8))),
            timeout=float(_env("BENCH_TIMEOUT", timeout)),
            server_threads=max(0, int(_env("BENCH_SERVER_THREADS", server_threads))),
        )


def wanted_backends() -> list[str]:
    return _env("BENCH_BACKENDS", "sqlite,postgresql").split(",")


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """BENCH_DIR (kept), or a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        workdir = Path(os.environ.get("BENCH_DIR") or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
