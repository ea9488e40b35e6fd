"""PostgreSQL stopped and started under provisioning load, ``serve`` left running.

A private PostgreSQL instance (``pgcluster``) is stopped twice while client threads provision:
once cleanly (``pg_ctl -m fast``) and once like a crash (``-m immediate``). While it is down,
every answer is 503 with a SCIM error body and ``Retry-After`` (``/healthz`` says 503 too);
once it is back the same ``serve`` process answers 2xx again by itself. Nothing answered 2xx
is lost, nothing is half-applied, and no answer is ever another 5xx.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.faults.load import Burst, make_lanes, verify_lane
from tests.faults.pgcluster import PrivateCluster, unavailable_reason
from tests.security.harness import raw_request
from tests.security.process import cli, new_token, serve, write_config

DOWN_SECONDS = 2.5
SETTLE = 1.2
"""Requests already inside a retry loop when the database stops may still finish either way;
answers this long after the stop must be 503."""


def _probe(port: int, token: str) -> int:
    return raw_request(
        port, "GET", "/scim/v2/Users?count=1", {"Authorization": f"Bearer {token}"}, timeout=15
    ).status


def _outage(cluster: PrivateCluster, mode: str, port: int, token: str) -> dict[str, float]:
    """Stop the database, probe while it is down, start it, time the recovery."""
    stopped = time.monotonic()
    cluster.stop(mode)
    health = []
    while time.monotonic() - stopped < DOWN_SECONDS:
        health.append(raw_request(port, "GET", "/healthz").status)
        assert _probe(port, token) == 503
    assert set(health) == {503}
    restarting = time.monotonic()
    cluster.start()
    deadline = time.monotonic() + 30
    while _probe(port, token) != 200:
        assert time.monotonic() < deadline, "the service did not recover by itself"
        time.sleep(0.1)
    return {"stopped": stopped, "restarting": restarting, "recovered": time.monotonic()}


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_restart_under_load_is_503_then_recovers_by_itself(tmp_path: Path) -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"a private PostgreSQL instance cannot run here: {reason}")
    cluster = PrivateCluster()
    served = None
    try:
        cluster.start()
        cluster.create_database()
        config = write_config(tmp_path / "config.toml", cluster.url)
        cli(config, "db", "init")
        token = new_token(config)
        served = serve(config, tmp_path / "serve.log", threads=4)
        tag = f"pg{uuid.uuid4().hex[:6]}"
        port = served.port
        burst = Burst(lambda: port, token, make_lanes(port, token, 3, tag), tag).start()
        windows = []
        for mode in ("fast", "immediate"):
            target = burst.ok_count() + 30
            while burst.ok_count() < target:
                time.sleep(0.02)
            windows.append(_outage(cluster, mode, port, token))
        target = burst.ok_count() + 30  # and provisioning goes on afterwards
        while burst.ok_count() < target:
            time.sleep(0.02)
        burst.join()
        assert served.proc.poll() is None  # the same process all along
        outcomes = [o for lane in burst.lanes for o in lane.outcomes]
        assert all(o.status in (200, 201, 204, 503, 409) for o in outcomes), {
            o.status for o in outcomes
        }
        for o in outcomes:
            if o.status == 503:
                assert o.scim_error and o.retry_after and int(o.retry_after) >= 1
        for w in windows:
            inside = [o for o in outcomes if w["stopped"] + SETTLE < o.at < w["restarting"]]
            assert inside and {o.status for o in inside} == {503}
        totals = [verify_lane(port, token, lane, tag) for lane in burst.lanes]
    finally:
        if served is not None:
            served.stop()
        cluster.destroy()
    statuses = burst.answered()
    recovery = [round(w["recovered"] - w["restarting"], 2) for w in windows]
    print(
        f"\npostgres restart: answers {dict(statuses)}; recovery after start (s): {recovery}; "
        f"verified: {sum(t['users'] for t in totals)} users, "
        f"{sum(t['group patches'] for t in totals)} group patches"
    )
    assert statuses["503"] >= 2
