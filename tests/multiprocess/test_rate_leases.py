"""Four API processes on one database, SQLite file and PostgreSQL, each leasing slices of a
token's budget: the token never gets more than its limit plus burst in any window, a revoked
token fails at once on every process, a stopped process gives its unused budget back, and
far below the limit nothing is refused. Real processes over HTTP (and the operator CLI);
the false-refusal figure runs ``authenticate`` in two real processes at 600 requests a
second each."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pony.orm import db_session

from tests.bench.load import Reply
from tests.bench.servers import ServerProcess, write_config
from tests.multiprocess.conftest import ClientPerThread, Cluster, skip_without_postgres
from tests.support import create_pg_database, drop_pg_database, open_test_store

pytestmark = [pytest.mark.slow]

SCIM = "/scim/v2"
PROCESSES = 4
CLIENTS = 8
BURST = 20  # leases of 5 requests


def _database(backend: str, directory: Path) -> str:
    if backend == "postgresql":
        skip_without_postgres()
        return create_pg_database()
    return f"sqlite:///{directory / 'leases.db'}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def quad(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp(f"quad-{request.param}")
    url = _database(request.param, directory)
    cluster = Cluster(url, write_config(directory / "config.toml", url, burst=BURST))
    try:
        cluster.cli("db", "init")
        yield cluster.start(PROCESSES, directory)
    finally:
        cluster.stop()
        if request.param == "postgresql":
            drop_pg_database(url)


def _send_all(
    cluster: Cluster, token: str, count: int, pause: float = 0.0
) -> list[tuple[float, float, Reply]]:
    """``count`` cheap SCIM requests from 8 threads over the 4 processes: (sent, answered,
    reply) for each, on this process's monotonic clock."""
    clients = ClientPerThread(cluster, token)  # thread n talks to process n % 4

    def one(_: int) -> tuple[float, float, Reply]:
        sent = time.monotonic()
        reply = clients.get().get(SCIM + "/ServiceProviderConfig")
        answered = time.monotonic()
        if pause:
            time.sleep(pause)
        return sent, answered, reply

    with clients, ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(count)))


def test_the_limit_holds_across_four_processes(quad: Cluster) -> None:
    """One request a minute with a burst of 20: exactly 21 of 60 get through while the
    minute lasts, however the four processes lease; the rest get 429 with Retry-After."""
    token = quad.token("Entra throttled", rate_limit=1)
    replies = _send_all(quad, token, 60)
    statuses = Counter(reply.status for _s, _a, reply in replies)
    elapsed = max(a for _s, a, _r in replies) - min(s for s, _a, _r in replies)
    assert BURST + 1 <= statuses[200] <= BURST + 1 + math.floor(elapsed / 60), statuses
    assert statuses[200] + statuses[429] == 60, statuses
    for _s, _a, reply in replies:
        if reply.status == 429:
            assert int(reply.header("retry-after") or "0") >= 1


def test_no_window_holds_more_than_the_limit_plus_burst_across_four_processes(
    quad: Cluster,
) -> None:
    """600 a minute (one every 100 ms), burst 20: each process leases up to 5 requests at a
    time. Eight clients send for about four seconds, far above the limit. For every window
    between one request's sending and another's answer, the requests admitted inside it
    are at most window / 100 ms + 20 + 1 (each was admitted between its sending and its
    answer, so all of them were admitted within that window)."""
    per_minute = 600
    step = 60 / per_minute
    token = quad.token("Okta hammering", rate_limit=per_minute)
    replies: list[tuple[float, float, Reply]] = []
    began = time.monotonic()
    while time.monotonic() - began < 4.0:
        replies += _send_all(quad, token, 48)
    admitted = sorted((s, a) for s, a, reply in replies if reply.status == 200)
    assert {reply.status for _s, _a, reply in replies} <= {200, 429}
    assert len(admitted) > BURST + 1  # the rate did refill some while it ran
    worst = -math.inf
    for i, (start, _) in enumerate(admitted):
        for _, end in admitted[i:]:
            inside = sum(1 for s, a in admitted if s >= start and a <= end)
            worst = max(worst, inside - ((end - start) / step + BURST + 1))
    assert worst <= 0, worst


def test_a_revoked_token_fails_at_once_on_all_four_processes(quad: Cluster) -> None:
    token = quad.token("JumpCloud to revoke", rate_limit=1_000_000)
    clients = [quad.client(index, token) for index in range(PROCESSES)]
    try:
        for client in clients:  # each process now holds a lease with budget left
            assert client.get(SCIM + "/ServiceProviderConfig").status == 200
            assert client.get(SCIM + "/ServiceProviderConfig").status == 200
        quad.cli("token", "revoke", "JumpCloud to revoke")
        for client in reversed(clients):
            reply = client.get(SCIM + "/Users", params={"count": 1})
            assert reply.status == 401, reply.raw[:200]
            assert (reply.header("www-authenticate") or "").startswith("Bearer")
    finally:
        for client in clients:
            client.close()


def _bucket_tat(store: Any, token_name: str) -> float:
    with db_session:
        (token_id,) = store.db.select(
            'SELECT "id" FROM "scim_token" WHERE "name" = $token_name', {"token_name": token_name}
        )
        (tat,) = store.db.select(
            'SELECT "tat" FROM "rate_bucket" WHERE "key" = $key', {"key": f"token:{token_id}"}
        )
    return float(tat)


def test_a_stopped_process_gives_its_unused_budget_back(quad: Cluster, tmp_path: Path) -> None:
    """A fifth process takes a lease (240 a minute: 4 slots of 250 ms, one second ahead),
    answers one request and is stopped at once: the token's TAT goes back to where the
    unused slots began (the shutdown must come within the lease's second, as it does)."""
    token = quad.token("Okta shutdown", rate_limit=240)
    server = ServerProcess(quad.config, tmp_path / "serve-5.log", threads=2).start().wait_ready()
    store = open_test_store(quad.url)
    try:
        client = server.client(token)
        assert client.get(SCIM + "/ServiceProviderConfig").status == 200
        client.close()
        leased = _bucket_tat(store, "Okta shutdown")
        assert server.stop() == 0
        after = _bucket_tat(store, "Okta shutdown")
    finally:
        store.close()
        server.stop()
    # The request's own slot stays taken; the unused ones (up to three) came back.
    assert 0.25 <= leased - after <= 0.75 + 1e-6, (leased, after)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("burst", [10, 1000])
def test_false_refusals_at_1200_a_second_over_two_processes(
    backend: str, burst: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two processes, 600 requests a second each, against a limit of 6000 a second: every
    refusal would be false (the budget is ten times the load). None is allowed; the figures
    (and how few database writes the leases left) are printed for the record."""
    url = _database(backend, tmp_path)
    try:
        config = write_config(tmp_path / "config.toml", url, burst=burst)
        cluster = Cluster(url, config)
        cluster.cli("db", "init")
        secret = cluster.token("Okta steady", rate_limit=360_000)
        command = [
            sys.executable,
            "-m",
            "tests.multiprocess.lease_load",
            url,
            secret,
            "600",
            "5",
            str(burst),
        ]
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [
            json.loads(run.communicate(timeout=120)[0].strip().splitlines()[-1]) for run in runs
        ]
    finally:
        if backend == "postgresql":
            drop_pg_database(url)
    sent = sum(o["sent"] for o in outputs)
    refused = sum(o["refused"] for o in outputs)
    grants = sum(o["grants"] for o in outputs)
    seconds = max(o["seconds"] for o in outputs)
    with capsys.disabled():
        print(
            f"\n[{backend}, burst {burst}] {sent} requests in {seconds:.1f} s "
            f"({sent / seconds:.0f}/s over 2 processes): {refused} refused, {grants} "
            f"database grants ({grants / sent:.1%} of requests)"
        )
    assert refused == 0, outputs
