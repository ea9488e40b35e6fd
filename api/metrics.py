"""Prometheus metrics of one API process (prometheus-client), served at ``GET /metrics``.

In-process figures are counted on the request path at the cost of a few dictionary lookups
and no database work: requests by method, route template (never the raw path, which holds
ids), status and connection (the token name: one token per IdP connection), with latency
histograms; failed authentications; rate-limit refusals; session checks by result. Figures
that live in the database (worker health, the lease holder, Last Used, deactivations) come
from ``api.metrics_db`` when scraped. Each ``ApiMetrics`` has its own registry, so every app
(and every test) counts alone; the process-wide default collectors are not used, so every
name starts with ``trident_scim_``.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Collection
from typing import Any

import falcon
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from api.client import client_address
from store.domain.display import safe_field, safe_text

PREFIX = "trident_scim_"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""The route label of a request no route matched (its raw path is never a label)."""
AUTH_REASONS = frozenset({"missing", "malformed", "unknown", "revoked"})
SESSION_RESULTS = frozenset({"ok", "missing", "malformed", "unknown", "ended", "expired",
                             "idle", "user_inactive", "user_deleted", "ambiguous",
                             "unavailable"})  # fmt: skip
CONTENT_TYPE = CONTENT_TYPE_LATEST
_CONVERTER = re.compile(r"\{(\w+):[^}]*\}")

access_log = logging.getLogger("trident_scim.access")

# The *_created series double every counter's output and no dashboard here uses them.
disable_created_metrics()


@functools.lru_cache(maxsize=128)  # templates are few; the regex runs once per template
def route_label(template: str | None) -> str:
    """``/scim/v2/Users/{user_id:resource_id}`` -> ``/scim/v2/Users/{user_id}``."""
    return UNMATCHED if not template else _CONVERTER.sub(r"{\1}", template)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            PREFIX + "http_requests", "HTTP requests answered, by method, route template, "
            "status and connection (the token name; empty before authentication)",
            ["method", "route", "status", "connection"], registry=r)  # fmt: skip
        self.latency = Histogram(
            PREFIX + "http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route", "connection"], buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.auth_failures = Counter(
            PREFIX + "auth_failures", "SCIM requests refused 401, by reason",
            ["reason"], registry=r)  # fmt: skip
        self.rate_limited = Counter(
            PREFIX + "rate_limited", "SCIM requests refused 429: limit 'token' (the token's "
            "own rate) or 'address' (failed authentications from one client address)",
            ["limit", "connection"], registry=r)  # fmt: skip
        self.session_checks = Counter(
            PREFIX + "session_checks", "GET /auth/session answers, by result ('ok' = signed in)",
            ["result"], registry=r)  # fmt: skip

    def observe_request(self, method: str, route: str, status: int, connection: str,
                        seconds: float) -> None:  # fmt: skip
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status), connection).inc()
        self.latency.labels(method, route, connection).observe(seconds)

    def auth_refused(self, reason: str, connection: str) -> None:
        if reason == "rate_limited":
            self.rate_limited.labels("token" if connection else "address", connection).inc()
        else:
            self.auth_failures.labels(reason if reason in AUTH_REASONS else "other").inc()

    def session_checked(self, result: str) -> None:
        result = result.replace(" ", "_") if result else "ok"
        self.session_checks.labels(result if result in SESSION_RESULTS else "other").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """Middleware: counts and times every request and writes its access log line."""

    def __init__(self, metrics: ApiMetrics, router: Any, access: bool,
                 trusted_proxies: Collection[str] = ()) -> None:  # fmt: skip
        self._metrics = metrics
        self._router = router
        self._access = access
        self._trusted = trusted_proxies

    def use_router(self, router: Any) -> None:
        self._router = router

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        started = req.context.get("metrics_started") or time.perf_counter()
        seconds = time.perf_counter() - started
        route = route_label(req.uri_template or self._template(req))
        connection = req.context.get("token_name") or ""
        status = resp.status_code
        self._metrics.observe_request(req.method, route, status, connection, seconds)
        if self._access and access_log.isEnabledFor(logging.INFO):
            client = client_address(req.remote_addr, req.get_header("X-Forwarded-For"),
                                    self._trusted)  # fmt: skip
            access_log.info("%s %s %d %.1fms token=%s client=%s", safe_text(req.method[:16]),
                            safe_field(req.path[:256]), status, seconds * 1000.0,
                            safe_field(connection) or "-", safe_field(client))  # fmt: skip

    def _template(self, req: falcon.Request) -> str | None:
        """The route of a request refused before routing (401, 413, 429...)."""
        if self._router is None:
            return None
        try:
            found = self._router.find(req.path, req)
        except Exception:  # a path the router cannot even parse: no route
            return None
        return None if found is None else found[3]
