"""The two probes a load balancer or supervisor uses on an API process: ``/livez`` answers
while the process serves, whatever the database does; ``/healthz`` reports the database.
Proven on a real process whose PostgreSQL database disappears under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.servers import ServerProcess, cli, write_config
from tests.multiprocess.conftest import skip_without_postgres
from tests.support import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_livez_stays_up_when_the_database_goes_away_and_healthz_says_so(tmp_path: Path) -> None:
    skip_without_postgres()
    url = create_pg_database()
    config = write_config(tmp_path / "config.toml", url)
    dropped = False
    try:
        cli(config, "db", "init")
        with ServerProcess(config, tmp_path / "serve.log", threads=2) as server:
            client = server.client()
            assert client.get("/livez").json == {"status": "ok"}
            assert client.get("/healthz").status == 200
            drop_pg_database(url)  # terminates the server's connections too
            dropped = True
            health = client.get("/healthz")
            assert health.status == 503 and health.header("retry-after")
            live = client.get("/livez")
            assert live.status == 200 and live.json == {"status": "ok"}
            client.close()
    finally:
        if not dropped:
            drop_pg_database(url)
