"""Discovery (RFC 7644 §4): ``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas``.

The documents come from ``api.scim.schemas``, built from the same definitions the mapping and
the limits enforce, so what they advertise is what the service does. Like every ``/scim/v2``
route they need the bearer token (IdPs send it anyway)."""

from __future__ import annotations

from typing import Any

import falcon

from api.media import dumps
from api.resources.common import projection, query_params
from api.scim import schemas
from api.scim.errors import not_found
from api.scim.limits import Limits
from api.scim.mapping import list_response
from store.config import Settings
from store.context import Store


def _listed(resp: falcon.Response, documents: list[dict[str, Any]]) -> None:
    resp.media = list_response(documents, len(documents), 1)


def _find(documents: list[dict[str, Any]], key: str, wanted: str, what: str) -> dict[str, Any]:
    for document in documents:
        if str(document.get(key, "")).lower() == wanted.lower():
            return document
    raise not_found(f"{what} {wanted!r} not found")


def enforced_limits(settings: Settings) -> Limits:
    """The limits in force: the configured ones (the fixed ones are ``store.domain.limits``)."""
    api = settings.api
    return Limits(
        max_payload_bytes=api.max_body_bytes,
        max_results=api.max_results,
        max_operations=api.max_operations,
        max_filter_length=api.max_filter_length,
    )


class ServiceProviderConfig:
    """IdPs call it as a connection test, often: the whole document (no query string) is
    rendered once, as the bytes every such request gets; the settings it shows are fixed
    for the life of the process."""

    def __init__(self, store: Store) -> None:
        self._base = store.settings.scim_base_url
        self._limits = enforced_limits(store.settings)
        whole = schemas.service_provider_config(self._base, self._limits, [], [])
        self._whole = dumps(whole).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not req.query_string:
            resp.data = self._whole
            return
        shown = projection(query_params(req))
        resp.media = schemas.service_provider_config(
            self._base, self._limits, shown.attributes, shown.excluded
        )


class ResourceTypes:
    def __init__(self, store: Store) -> None:
        self._documents = list(schemas.resource_types(store.settings.scim_base_url))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _listed(resp, self._documents)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        resp.media = _find(self._documents, "id", name, "resource type")


class Schemas:
    def __init__(self, store: Store) -> None:
        self._documents = list(schemas.schemas_documents(store.settings.scim_base_url))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _listed(resp, self._documents)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, schema_id: str) -> None:
        resp.media = _find(self._documents, "id", schema_id, "schema")
