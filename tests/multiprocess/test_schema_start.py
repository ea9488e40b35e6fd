"""Schema creation is safe when several processes start together on an empty PostgreSQL
database: three API processes and a ``db init`` launched at once all come up, the schema is
created once, the default roles exist once, and each process serves the others' writes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.load import USER
from tests.bench.servers import CLI, last_line, write_config
from tests.multiprocess.conftest import Cluster, skip_without_postgres
from tests.support import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def empty_database() -> Iterator[str]:
    skip_without_postgres()
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def _count(url: str, sql: str) -> int:
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def test_three_processes_and_db_init_starting_together_on_an_empty_database(
    empty_database: str, tmp_path: Path
) -> None:
    cluster = Cluster(empty_database, write_config(tmp_path / "config.toml", empty_database))
    for n in range(3):  # started without waiting: every process migrates or waits its turn
        cluster.start_one(tmp_path / f"serve-{n}.log")
    init = subprocess.Popen([CLI, "--config", str(cluster.config), "db", "init"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        output, _ = init.communicate(timeout=60)
        assert init.returncode == 0, output.decode(errors="replace")
        for server in cluster.servers:
            server.wait_ready()
        token = last_line(cluster.cli("token", "create", "Okta after upgrade",
                                      "--rate-limit", "1000000"))  # fmt: skip
        ids = []
        for n in range(3):  # each process writes; every other one reads it back
            reply = cluster.client(n, token).post("/scim/v2/Users", {
                "schemas": [USER], "userName": f"first{n}@example.com"})  # fmt: skip
            assert reply.status == 201, reply.raw[:300]
            ids.append(reply.json["id"])
        for n in range(3):
            client = cluster.client(n, token)
            for user_id in ids:
                assert client.get(f"/scim/v2/Users/{user_id}").status == 200
            client.close()
    finally:
        init.kill() if init.poll() is None else None
        cluster.stop()
    assert _count(empty_database, "SELECT COUNT(*) FROM control_role") == 3
    assert _count(empty_database, "SELECT COUNT(*) FROM schema_meta") == 1
