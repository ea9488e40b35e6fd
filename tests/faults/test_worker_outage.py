"""``trident-scim worker`` through a PostgreSQL outage (a private instance stopped and
started): it neither exits nor logs a line per failed tick. One warning when the outage
starts, backoff while it lasts, one line when the database answers again, and the jobs run
again by themselves. Started while the database is down, it waits instead of exiting into a
systemd restart loop."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.pgcluster import PrivateCluster, unavailable_reason

CLI = str(Path(sys.executable).parent / "trident-scim")
EXTRA = (
    "[worker]\nsession_expiry_seconds = 1\nlast_used_seconds = 1\nlease_ttl_seconds = 3\n"
    "reconcile_seconds = 0\nstale_check_seconds = 0\nretention_seconds = 0\n"
    'mapping_watch_seconds = 0\n[logging]\nlevel = "INFO"\n'
)
DEADLINE = 60.0

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"a private PostgreSQL instance cannot run here: {reason}")
    made = PrivateCluster()
    try:
        made.start()
        made.wait_ready()
        made.create_database()
        yield made
    finally:
        made.destroy()


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n{EXTRA}')
    return path


def _log_until(log: Path, text: str, proc: subprocess.Popen[bytes], count: int = 1) -> str:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        seen = log.read_text(errors="replace")
        if seen.count(text) >= count:
            return seen
        assert proc.poll() is None, f"the worker exited ({proc.returncode}):\n{seen}"
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged in time:\n{log.read_text(errors='replace')}")


@contextmanager
def _worker(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``trident-scim worker`` logging to ``log``; killed if the test leaves it running."""
    proc = subprocess.Popen(
        [CLI, "--config", str(config), "worker"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_the_worker_backs_off_through_an_outage_and_recovers(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    config = _config(tmp_path, cluster.url)
    subprocess.run([CLI, "--config", str(config), "db", "init"], check=True, timeout=60)
    log = tmp_path / "worker.log"
    with _worker(config, log) as proc:
        _log_until(log, "now leads", proc)
        cluster.stop("immediate")
        _log_until(log, "database unavailable", proc)
        down_since = time.monotonic()
        # ~4 ticks of every job at 1 s periods, and the retries after 1 and 3 s fail too;
        # the database is back before the retry after 7 s, which then finds it
        while time.monotonic() - down_since < 4:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        seen = log.read_text(errors="replace")
        assert _outage_lines(seen) == (1, 1, 0, 0), seen
        assert "Traceback" not in seen
        cluster.start()
        _log_until(log, "database reachable again", proc)
        assert _stop(proc) == 0
    seen = log.read_text(errors="replace")
    assert _outage_lines(seen) == (1, 1, 1, 1), seen
    assert "Traceback" not in seen


def _outage_lines(log: str) -> tuple[int, int, int, int]:
    """(store: unavailable, worker: pausing, store: answering again, worker: resuming)."""
    return (
        log.count("store.tx: database unavailable"),
        log.count("jobs pause and retry"),
        log.count("database answering again"),
        log.count("database reachable again: jobs resume"),
    )


def test_a_worker_started_during_an_outage_waits_for_the_database(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    config = _config(tmp_path, cluster.url)
    subprocess.run([CLI, "--config", str(config), "db", "init"], check=True, timeout=60)
    cluster.stop("fast")
    log = tmp_path / "worker.log"
    with _worker(config, log) as proc:
        _log_until(log, "database unavailable at start", proc)
        time.sleep(3)  # several retries: still running, still one line
        assert proc.poll() is None
        assert log.read_text().count("database unavailable at start") == 1
        cluster.start()
        _log_until(log, "database reachable: starting the jobs", proc)
        _log_until(log, "now leads", proc)
        assert _stop(proc) == 0
    assert "Traceback" not in log.read_text(errors="replace")
