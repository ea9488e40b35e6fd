"""``deploy/prometheus`` and ``deploy/grafana`` stay true to what ``/metrics`` serves: every
metric an alert rule or a dashboard panel names is one the service exports, the rules and
the panels' queries are valid PromQL (``promtool``, when installed), and the rules' own unit
tests pass (the quiet IdP, a failing job, no leading worker, the 5xx rate)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "trident-scim-alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "trident-scim-alerts.test.yml"
DASHBOARD = DEPLOY / "grafana" / "trident-scim-dashboard.json"
PROMTOOL = shutil.which("promtool")
METRIC = re.compile(r"\btrident_scim_[a-z_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
            "gauge": ("",)}  # fmt: skip


def exported_names(app: falcon.App) -> set[str]:
    """Every sample name /metrics can serve (families are listed even before a sample)."""
    text = falcon.testing.TestClient(app).simulate_get("/metrics").text
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_expressions() -> dict[str, str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {f"{p['title']} #{t['refId']}": t["expr"]
            for p in panels for t in p.get("targets", [])}  # fmt: skip


def test_alert_rules_cover_quiet_idps_failing_jobs_and_5xx_with_real_metrics(
    app: falcon.App,
) -> None:
    rules = rule_expressions()
    assert {
        "TridentScimIdpQuiet",
        "TridentScimWorkerJobFailing",
        "TridentScimHighErrorRate",
    } <= set(rules)
    assert "trident_scim_stale_after_seconds" in rules["TridentScimIdpQuiet"]
    known = exported_names(app)
    for alert, expr in rules.items():
        assert set(METRIC.findall(expr)) <= known, alert


def test_dashboard_has_the_operators_panels_over_real_metrics(app: falcon.App) -> None:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    titles = " | ".join(p["title"] for p in board["panels"]).lower()
    for topic in ("idp traffic and errors", "429", "session checks", "worker health",
                  "stale tokens and idps", "lease holder"):  # fmt: skip
        assert topic in titles, topic
    known = exported_names(app)
    expressions = dashboard_expressions()
    assert len(expressions) >= 10
    for title, expr in expressions.items():
        assert METRIC.findall(expr) and set(METRIC.findall(expr)) <= known, title
    assert all(p["datasource"]["uid"] == "${datasource}" for p in board["panels"] if "targets" in p)


def _promtool(*args: str, cwd: Path) -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    _promtool("check", "rules", RULES.name, cwd=RULES.parent)
    _promtool("test", "rules", RULE_TESTS.name, cwd=RULES.parent)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) not installed")
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    records = [{"record": f"dashboard:query_{n}", "expr": expr}
               for n, expr in enumerate(dashboard_expressions().values())]  # fmt: skip
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    _promtool("check", "rules", path.name, cwd=tmp_path)
