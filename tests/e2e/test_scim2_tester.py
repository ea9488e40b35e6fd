"""python-scim's conformance checker (scim2-tester) against a real ``trident-scim serve``.

The checker drives the server through scim2-client's strict models (unknown members
forbidden, every request and response payload, content type and status code checked), with
every check enabled. The test fails on any ERROR or CRITICAL result, if the checker raised,
and if any check the checker offers did not run: a discovery failure makes it stop early and
would otherwise hide the rest. What it offers is asked of the checker itself, with nothing
hard-coded: a dry run with every check excluded, over the description this service
publishes, lists every check once without sending a request.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import (
    Context,
    ResourceType,
    Schema,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
)
from scim2_tester import CheckResult, Status, check_server, get_all_available_tags

from api.resources.discovery import enforced_limits
from api.scim import schemas
from store.config import Settings
from store.context import Store
from tests.bench.servers import ServerProcess, cli, last_line, write_config

DEADLINE = 300.0
"""Seconds the whole checker run may take (about 10 on this machine)."""
FAILED = (Status.ERROR, Status.CRITICAL)
Check = tuple[str | None, str | None]
"""A check as the checker names it: its title and the resource type it ran on."""


def _client(base_url: str, token: str | None) -> SyncSCIMClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return SyncSCIMClient(
        Client(base_url=base_url, headers=headers, timeout=15.0),
        provider=ScimProvider(policy=ScimPolicy(unknown=ScimPolicy.Unknown.forbid)),
        check_request_payload=True,
        check_response_payload=True,
        check_response_content_type=True,
        check_response_status_codes=True,
    )


def offered_checks(base_url: str) -> set[Check]:
    """Every check the checker would run on the service that this code base describes,
    listed by the checker's own orchestration with all its tags excluded (each check then
    answers SKIPPED without a request; the client points at a closed port to prove it)."""
    strict = {"scim": Context.RESOURCE_QUERY_RESPONSE}
    limits = enforced_limits(Settings())
    provider = ScimProvider.from_discovery(
        [Schema.model_validate(d, context=strict) for d in schemas.schemas_documents(base_url)],
        [ResourceType.model_validate(d, context=strict) for d in schemas.resource_types(base_url)],
        ServiceProviderConfig.model_validate(
            schemas.service_provider_config(base_url, limits), context=strict
        ),
    )
    client = _client("http://127.0.0.1:9/scim/v2", None)
    client.provider = provider
    everything = set(get_all_available_tags()) | {"*"}
    listed = check_server(client, exclude_tags=everything)
    assert listed and all(r.status == Status.SKIPPED for r in listed), listed
    return {(r.title, r.resource_type) for r in listed}


def run_checker(base_url: str, token: str) -> list[CheckResult]:
    """The whole checker, every check enabled, in a thread so that it is bounded in time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["results"] = check_server(_client(base_url, token))
        except BaseException as error:  # the checker itself failing is a test failure
            outcome["error"] = error

    thread = threading.Thread(target=run, name="scim2-tester", daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"the checker did not finish within {DEADLINE:.0f}s"
    if "error" in outcome:
        raise AssertionError(f"the checker raised: {outcome['error']!r}") from outcome["error"]
    return outcome["results"]


def summary(results: list[CheckResult], offered: set[Check]) -> str:
    ran = {(r.title, r.resource_type) for r in results if r.status != Status.SKIPPED}
    levels = Counter(r.status.name for r in results)
    return (
        f"scim2-tester: {len(ran & offered)}/{len(offered)} offered checks ran, "
        f"{len(results)} results: "
        + ", ".join(f"{name} {levels.get(name, 0)}" for name in (s.name for s in Status))
    )


@pytest.fixture
def server(tmp_path: Path, store: Store, store_url: str) -> Any:
    """A real ``trident-scim serve`` on this backend's database, and a token issued by the
    CLI; the rate limit is raised so the checker's few hundred requests are not throttled."""
    config = write_config(tmp_path / "config.toml", store_url, requests_per_minute=100_000,
                          burst=100_000)  # fmt: skip
    token = last_line(cli(config, "token", "create", "scim2-tester", "--rate-limit", "100000"))
    with ServerProcess(config, tmp_path / "serve.log", threads=4) as process:
        yield f"http://127.0.0.1:{process.port}/scim/v2", token


def test_scim2_tester_passes_every_check(server: tuple[str, str]) -> None:
    base_url, token = server
    offered = offered_checks(base_url)
    results = run_checker(base_url, token)
    print(summary(results, offered))
    failures = [r for r in results if r.status in FAILED]
    assert not failures, "\n".join(
        f"{r.status.name} {r.resource_type or ''} {r.title}: {r.reason}" for r in failures
    )
    ran = {(r.title, r.resource_type) for r in results if r.status != Status.SKIPPED}
    assert offered <= ran, f"offered checks that did not run: {sorted(offered - ran, key=str)}"
    assert not [r for r in results if r.status == Status.SKIPPED], "a check was skipped"
