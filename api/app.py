"""The Falcon application: routes, media handlers, middleware and error handlers.

``create_app`` receives everything it needs (the store, the request-log recorder) and builds
the WSGI app; it opens nothing and starts nothing itself. SCIM lives under ``/scim/v2``
(bearer token required); ``/auth/session`` and ``/healthz`` are open.
"""

from __future__ import annotations

from typing import Any

import falcon

from api.activity import ActivityRecorder
from api.auth import BearerAuth
from api.errors import register_error_handlers
from api.media import JSON_MEDIA_TYPE, SCIM_MEDIA_TYPE, json_handler
from api.middleware import (
    SCIM_PREFIX,
    BodyLimit,
    CanonicalPath,
    JsonContentType,
    RequestActivity,
)
from api.resources import discovery
from api.resources.auth_session import AuthSessionResource
from api.resources.common import ResourceIdConverter
from api.resources.groups import Groups
from api.resources.health import Health, Liveness
from api.resources.search import CollectionSearch, RootSearch
from api.resources.users import Users
from store.context import Store


def create_app(store: Store, *, recorder: ActivityRecorder | None = None) -> falcon.App:
    middleware: list[Any] = [
        CanonicalPath(),  # before anything reads the path
        RequestActivity(store, recorder),  # last out: sees every outcome
        BodyLimit(store.settings.api.max_body_bytes),
        BearerAuth(store),
        JsonContentType(),
    ]
    app = falcon.App(media_type=SCIM_MEDIA_TYPE, middleware=middleware)
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
    app.add_route("/auth/session", AuthSessionResource(store))
    app.add_route("/healthz", Health(store))
    app.add_route("/livez", Liveness())
    return app
