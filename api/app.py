"""The Falcon application: routes, media handlers, middleware and error handlers.

``create_app`` receives everything it needs (the store, the request-log recorder) and builds
the WSGI app; it opens nothing and starts nothing itself. SCIM lives under ``/scim/v2``
(bearer token required); ``/auth/session``, ``/healthz`` and ``/livez`` are open;
``/metrics`` answers only the addresses in ``[metrics] allow``.
"""

from __future__ import annotations

from typing import Any

import falcon

from api.activity import ActivityRecorder
from api.auth import BearerAuth
from api.errors import register_error_handlers
from api.media import JSON_MEDIA_TYPE, SCIM_MEDIA_TYPE, json_handler
from api.metrics import ApiMetrics, RequestMetrics
from api.metrics_db import DatabaseCollector
from api.middleware import (
    SCIM_PREFIX,
    BodyLimit,
    CanonicalPath,
    JsonContentType,
    RequestActivity,
)
from api.request_id import RequestId
from api.resources import discovery
from api.resources.auth_session import AuthSessionResource
from api.resources.common import ResourceIdConverter
from api.resources.groups import Groups
from api.resources.health import Health, Liveness
from api.resources.metrics import MetricsResource
from api.resources.search import CollectionSearch, RootSearch
from api.resources.users import Users
from store.context import Store


def create_app(
    store: Store, *, recorder: ActivityRecorder | None = None, metrics: ApiMetrics | None = None
) -> falcon.App:
    settings = store.settings
    metrics = metrics or ApiMetrics()
    observer = RequestMetrics(metrics, None, settings.logging.access_log,
                              settings.api.trusted_proxies)  # fmt: skip
    middleware: list[Any] = [
        RequestId(),  # first in, last out: every later step and log line sees the id
        CanonicalPath(),  # before anything else reads the path
        observer,
        RequestActivity(store, recorder),
        BodyLimit(settings.api.max_body_bytes),
        BearerAuth(store, metrics),
        JsonContentType(),
    ]
    app = falcon.App(media_type=SCIM_MEDIA_TYPE, middleware=middleware)
    observer.use_router(app._router)  # the route of requests refused before routing
    handler = json_handler()
    for options in (app.req_options, app.resp_options):
        options.media_handlers.update({SCIM_MEDIA_TYPE: handler, JSON_MEDIA_TYPE: handler})
    app.req_options.strip_url_path_trailing_slash = True
    app.router_options.converters["resource_id"] = ResourceIdConverter
    register_error_handlers(app)

    users, groups = Users(store), Groups(store)
    routes = {
        "/Users": users, "/Groups": groups,
        "/Users/.search": CollectionSearch(users), "/Groups/.search": CollectionSearch(groups),
        "/.search": RootSearch(users, groups),
        "/ServiceProviderConfig": discovery.ServiceProviderConfig(store),
        "/ResourceTypes": discovery.ResourceTypes(store), "/Schemas": discovery.Schemas(store),
    }  # fmt: skip
    for path, resource in routes.items():
        app.add_route(SCIM_PREFIX + path, resource)
    app.add_route(SCIM_PREFIX + "/Users/{user_id:resource_id}", users, suffix="item")
    app.add_route(SCIM_PREFIX + "/Groups/{group_id:resource_id}", groups, suffix="item")
    app.add_route(SCIM_PREFIX + "/ResourceTypes/{name}", routes["/ResourceTypes"], suffix="item")
    app.add_route(SCIM_PREFIX + "/Schemas/{schema_id}", routes["/Schemas"], suffix="item")
    app.add_route("/auth/session", AuthSessionResource(store, metrics))
    app.add_route("/healthz", Health(store))
    app.add_route("/livez", Liveness())
    if settings.metrics.enabled:
        refresh = settings.metrics.database_refresh_seconds
        metrics.registry.register(DatabaseCollector(store, refresh))
        app.add_route("/metrics", MetricsResource(metrics, settings.metrics.allow))
    return app
