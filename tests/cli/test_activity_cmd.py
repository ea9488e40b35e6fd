"""``trident-scim activity`` through the real script, on SQLite and PostgreSQL: the request
log narrowed by token, status and age, text terminal-safe, ``--json`` exact."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from store.context import Store, utc_now
from store.records import ActivityInput
from store.services.activity import record_activity
from store.services.tokens import issue_token, revoke_token
from tests.cli.test_failures import one_line_error, run

OSC52 = "\x1b]52;c;Y3VybA==\x07"


def _seed(store: Store) -> dict[str, int]:
    now = utc_now()
    okta = issue_token(store, "Okta SCIM", "operator:test").record.id
    revoke_token(store, "Okta SCIM", "operator:test")
    okta2 = issue_token(store, "Okta SCIM", "operator:test", connection="Okta SCIM").record.id
    entra = issue_token(store, "Entra ID", "operator:test").record.id

    def entry(minutes: int, token: int | None, name: str, status: int, **kw: str) -> ActivityInput:
        return ActivityInput(
            at=now - timedelta(minutes=minutes), method="GET", path="/scim/v2/Users",
            status=status, latency_ms=2.0, token_id=token, token_name=name,
            client="10.0.0.7", **kw,
        )  # fmt: skip

    record_activity(
        store,
        [
            entry(300, okta, "Okta SCIM", 200),
            entry(20, okta2, "Okta SCIM", 400, query=f"filter=nickName eq \"x{OSC52}\"",
                  scim_type="invalidFilter", detail=f"unknown attribute {OSC52}"),
            entry(10, entra, "Entra ID", 201),
            entry(5, None, "", 401, detail="unknown token tscim_abcd"),
            entry(1, entra, "Entra ID", 429),
        ],
    )  # fmt: skip
    return {"okta": okta, "okta2": okta2, "entra": entra}


def _json(config: Path, *args: str) -> list[dict[str, object]]:
    done = run(config, "activity", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_filters(store: Store, config: Path) -> None:
    ids = _seed(store)
    rows = _json(config)
    assert [r["status"] for r in rows] == [429, 401, 400, 201, 200]  # errors first, newest first
    assert {r["token_id"] for r in _json(config, "--token", "okta scim")} == {
        ids["okta"],
        ids["okta2"],
    }
    assert [r["status"] for r in _json(config, "--status", "4xx")] == [429, 401, 400]
    assert [r["status"] for r in _json(config, "--status", "401")] == [401]
    assert [r["status"] for r in _json(config, "--since", "1h")] == [429, 401, 400, 201]
    assert [r["status"] for r in _json(config, "--since", "15m", "--status", "4xx")] == [429, 401]
    assert [r["status"] for r in _json(config, "--token", "Entra ID", "--limit", "2")] == [429, 201]


def test_text_is_terminal_safe_and_json_exact(store: Store, config: Path) -> None:
    _seed(store)
    done = run(config, "activity", "--status", "400")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "unknown attribute \\x1b]52;c;Y3VybA==\\x07" in done.stdout
    assert "400 invalidFilter" in done.stdout and "10.0.0.7" in done.stdout
    (row,) = _json(config, "--status", "400")
    assert row["detail"] == f"unknown attribute {OSC52}"
    assert row["query"] == f'filter=nickName eq "x{OSC52}"'


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--status", "4x"), "error: status '4x' is not a status: use a code such as 401"),
        (("--since", "yesterday"), "error: age 'yesterday' is not a duration"),
        (("--limit", "0"), "error: --limit must be a number from 1 to 10000, got '0'"),
        (("--limit", "lots"), "error: --limit must be a number from 1 to 10000, got 'lots'"),
        (("--token", "Nope\x1b[2J"), "error: no token named 'Nope\\x1b[2J'"),
    ],
)
def test_bad_arguments_are_one_line(
    store: Store, config: Path, args: tuple[str, ...], expected: str
) -> None:
    _seed(store)
    assert one_line_error(run(config, "activity", *args)).startswith(expected)
