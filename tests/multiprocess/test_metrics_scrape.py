"""Scraping several real API processes, as the README's Prometheus job does: each serves its
own request counters, and every process reports the same database-backed figures (tokens'
Last Used, the worker's health), however they were reached."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.multiprocess.conftest import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _scrape(pair: Cluster, index: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    reply = pair.client(index).get("/metrics")
    assert reply.status == 200
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(reply.raw.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_each_process_counts_its_own_requests_and_all_report_the_shared_state(
    pair: Cluster,
) -> None:
    token = pair.token("Okta scraped", rate_limit=1_000_000)
    for _ in range(3):
        assert pair.client(0, token).get("/scim/v2/Users?count=1").status == 200
    pair.cli("worker", "--once", "flag_stale_tokens")
    first, second = _scrape(pair, 0), _scrape(pair, 1)

    def served(samples: dict[str, list[tuple[dict[str, str], float]]]) -> float:
        return sum(v for labels, v in samples.get("trident_scim_http_requests_total", [])
                   if labels.get("connection") == "Okta scraped")  # fmt: skip

    assert served(first) == 3 and served(second) == 0
    for name in ("trident_scim_token_stale", "trident_scim_worker_job_runs"):
        assert first[name] and sorted(map(str, first[name])) == sorted(map(str, second[name]))
    connections = {labels["connection"] for labels, _ in second["trident_scim_token_stale"]}
    assert "Okta scraped" in connections
