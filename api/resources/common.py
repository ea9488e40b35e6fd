"""Helpers the SCIM responders share: query parameters, projections, list queries, and
writing a resource with its ETag. Translation only; every rule lives in ``api.scim`` (the
protocol) or ``store`` (the product)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import falcon

from api.scim.errors import ScimError, invalid_value
from api.scim.filter import parse_filter
from api.scim.mapping import etag, if_match_versions, list_response
from api.scim.paging import parse_attribute_list, parse_paging, parse_sort
from store.config import Settings
from store.context import Store
from store.domain.criteria import Criteria, Sort
from store.domain.ids import is_resource_id
from store.domain.scope import Scope

QUERY_NAMES = (
    "filter",
    "startIndex",
    "count",
    "sortBy",
    "sortOrder",
    "attributes",
    "excludedAttributes",
)
_CANONICAL = {name.lower(): name for name in QUERY_NAMES}

Params = Mapping[str, Any]
"""SCIM list parameters by canonical name, from a query string or a SearchRequest body."""
Document = dict[str, Any]
"""One SCIM resource as JSON."""


class ResourceIdConverter(falcon.routing.BaseConverter):
    """``{id:resource_id}`` in a route: a value that cannot be an id matches no route, so it
    is a plain 404 without a database trip."""

    def convert(self, value: str) -> str | None:
        return value if is_resource_id(value) else None


def actor(req: falcon.Request) -> str:
    """Who the audit trail names for this request: the token's name."""
    return str(req.context.get("actor") or "token:unknown")


def scope(req: falcon.Request) -> Scope:
    """The IdP connection this request acts for (set by ``BearerAuth``). A SCIM request
    without one never reaches a responder; should one anyway, it is refused rather than
    given the operators' view of every connection."""
    found = req.context.get("scope")
    if not isinstance(found, Scope) or found.connection_id is None:
        raise ScimError(401, None, "Invalid or revoked token")
    return found


def query_params(req: falcon.Request) -> dict[str, str]:
    """The SCIM query parameters by canonical name (matched case-insensitively)."""
    found: dict[str, str] = {}
    for name, value in req.params.items():
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            continue  # unknown parameters are ignored, as most SCIM clients expect
        if isinstance(value, list) or canonical in found:
            raise invalid_value(f"query parameter {canonical!r} was given more than once")
        found[canonical] = value
    return found


@dataclass(frozen=True)
class Projection:
    attributes: list[str]
    excluded: list[str]

    @property
    def asked(self) -> bool:
        return bool(self.attributes or self.excluded)

    def wants(self, attribute: str) -> bool:
        """Whether the (top-level) attribute is part of the answer; names may carry their
        schema URN (``urn:...:Group:members.value``)."""
        name = attribute.lower()
        if any(_top_level(a) == name and "." not in _unqualified(a) for a in self.excluded):
            return False
        if self.attributes:
            return any(_top_level(a) == name for a in self.attributes)
        return True


def _unqualified(name: str) -> str:
    return name.rpartition(":")[2].lower()


def _top_level(name: str) -> str:
    return _unqualified(name).split(".")[0]


def projection(params: Mapping[str, Any]) -> Projection:
    return Projection(
        parse_attribute_list(params.get("attributes")),
        parse_attribute_list(params.get("excludedAttributes"), "excludedAttributes"),
    )


@dataclass(frozen=True)
class ListQuery:
    criteria: Criteria | None
    start: int
    count: int
    sort: Sort | None
    projection: Projection
    filter_text: str


def list_query(params: Mapping[str, Any], resource: str, settings: Settings) -> ListQuery:
    """Parse the list/search parameters (query string or SearchRequest body) of one resource."""
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise ScimError(400, "invalidFilter", "filter must be a string")
    criteria = None
    if text is not None:
        criteria = parse_filter(text, resource, settings.api.max_filter_length)
    start, count = parse_paging(
        params.get("startIndex"), params.get("count"), settings.api.max_results
    )
    sort = parse_sort(params.get("sortBy"), params.get("sortOrder"), resource)
    return ListQuery(criteria, start, count, sort, projection(params), text or "")


def if_match(req: falcon.Request) -> frozenset[int] | None:
    """The versions ``If-Match`` accepts (any one of them), None for no condition."""
    return if_match_versions(req.get_header("If-Match"))


def send_resource(
    resp: falcon.Response,
    body: dict[str, Any],
    version: int,
    *,
    status: int = 200,
    location: str | None = None,
) -> None:
    resp.status = status
    resp.media = body
    resp.set_header("ETag", etag(version))
    if location is not None:
        resp.set_header("Location", location)


class Collection:
    """What /Users and /Groups share: listing through ``fetch`` (each collection's own) with
    the same query parsing, so GET and the .search endpoints answer alike."""

    RESOURCE = ""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._base = store.settings.scim_base_url

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.respond_list(req, resp, query_params(req))

    def respond_list(self, req: falcon.Request, resp: falcon.Response, params: Params) -> None:
        query = self.query(params)
        req.context.filter = query.filter_text
        items, total = self.fetch(query, query.start, query.count, scope(req))
        resp.media = list_response(items, total, query.start)

    def query(self, params: Params) -> ListQuery:
        return list_query(params, self.RESOURCE, self._store.settings)

    def fetch(
        self, query: ListQuery, start: int, count: int, within: Scope
    ) -> tuple[list[Document], int]:
        """One page of the resources ``within`` sees, and how many match in all."""
        raise NotImplementedError
