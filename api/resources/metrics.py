"""``GET /metrics``: Prometheus text for the addresses in ``[metrics] allow`` only.

Only the TCP peer counts. A request carrying ``X-Forwarded-For`` or ``Forwarded`` came
through a proxy, where the peer is the proxy and says nothing of the real client: it is
refused, so a proxy location that forwards ``/metrics`` by mistake cannot expose it. A
refused request gets 403 and reads nothing (no database work)."""

from __future__ import annotations

import falcon

from api.client import networks_of, peer_allowed
from api.metrics import CONTENT_TYPE, ApiMetrics

REFUSED = "Metrics are served only to the addresses in [metrics] allow"


class MetricsResource:
    def __init__(self, metrics: ApiMetrics, allow: tuple[str, ...]) -> None:
        self._metrics = metrics
        self._networks = networks_of(allow)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        proxied = req.get_header("X-Forwarded-For") or req.get_header("Forwarded")
        if proxied or not peer_allowed(req.remote_addr, self._networks):
            raise falcon.HTTPForbidden(description=REFUSED)
        resp.set_header("Cache-Control", "no-store")
        resp.content_type = CONTENT_TYPE
        resp.data = self._metrics.render()
