"""Several real ``trident-scim serve --no-worker`` processes on one fresh PostgreSQL database.

A ``Cluster`` is a scratch config file, a database made for it, and N API processes on
127.0.0.1 (ports chosen by the OS); the tests talk to them over HTTP only and use the CLI as
an operator does. Clusters are shared (starting a process costs about a second and a half)
and each test uses its own tokens, users and groups, so tests stay independent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.bench.load import Client
from tests.bench.servers import ServerProcess, cli, last_line, write_config
from tests.support import create_pg_database, drop_pg_database

THREADS = 4
"""waitress threads per API process in these tests (a small pool, as on a small host)."""


def skip_without_postgres() -> None:
    if "postgresql" not in os.environ.get("TRIDENT_TEST_BACKENDS", "sqlite,postgresql").split(","):
        pytest.skip("PostgreSQL tests are switched off (TRIDENT_TEST_BACKENDS)")


@dataclass
class Cluster:
    url: str
    config: Path
    servers: list[ServerProcess] = field(default_factory=list)

    def cli(self, *args: str) -> str:
        return cli(self.config, *args)

    def token(self, name: str, rate_limit: int | None = None) -> str:
        """Issue a token as an operator does; the secret is the last line of stdout."""
        extra = ["--rate-limit", str(rate_limit)] if rate_limit else []
        return last_line(self.cli("token", "create", name, *extra))

    def client(self, index: int, token: str | None = None) -> Client:
        return self.servers[index % len(self.servers)].client(token)

    def start_one(self, log_path: Path, threads: int = THREADS) -> ServerProcess:
        """Launch one more API process without waiting for it to come up."""
        server = ServerProcess(self.config, log_path, threads=threads).start()
        self.servers.append(server)
        return server

    def start(self, count: int, directory: Path) -> Cluster:
        for n in range(count):
            self.start_one(directory / f"serve-{n}.log")
        for server in self.servers:
            server.wait_ready()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def make_cluster(directory: Path, count: int, **limits: int) -> Iterator[Cluster]:
    """A fresh database, ``db init`` once, then ``count`` API processes; all removed after."""
    skip_without_postgres()
    url = create_pg_database()
    cluster = Cluster(url, write_config(directory / "config.toml", url, **limits))
    try:
        cluster.cli("db", "init")
        yield cluster.start(count, directory)
    finally:
        cluster.stop()
        drop_pg_database(url)


@pytest.fixture(scope="package")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two API processes with the product's rate-limit defaults (60/min, a small burst)."""
    yield from make_cluster(tmp_path_factory.mktemp("pair"), 2, requests_per_minute=60, burst=5)


@pytest.fixture(scope="module")
def load_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two API processes for bulk traffic: a huge burst, so the single busy token the test
    uses is never throttled while eight clients share it."""
    yield from make_cluster(tmp_path_factory.mktemp("load"), 2, burst=1_000_000)


class ClientPerThread:
    """One keep-alive client per (thread, process) of a cluster: the n-th thread to ask for
    one talks to process n % N. ``with`` closes them all at the end."""

    def __init__(self, cluster: Cluster, token: str) -> None:
        self._cluster, self._token = cluster, token
        self._local = threading.local()
        self._made: list[Client] = []
        self._lock = threading.Lock()

    def get(self) -> Client:
        if not hasattr(self._local, "client"):
            with self._lock:
                self._local.client = self._cluster.client(len(self._made), self._token)
                self._made.append(self._local.client)
        return self._local.client

    def close(self) -> None:
        for client in self._made:
            client.close()

    def __enter__(self) -> ClientPerThread:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
