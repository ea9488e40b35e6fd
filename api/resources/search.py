"""``POST /Users/.search``, ``POST /Groups/.search`` and ``POST /.search`` (RFC 7644 §3.4.3).

A SearchRequest body carries the same parameters as a list query, which keeps filters out of
URLs and proxy logs. The root search lists matching users, then matching groups, paged as one
result set; a filter (or sortBy) that names an attribute only one resource type has simply
matches nothing of the other type.
"""

from __future__ import annotations

import falcon

from api.resources.common import Collection, Document, ListQuery, Params, scope
from api.scim.errors import ScimError
from api.scim.mapping import list_response
from api.scim.paging import search_request_from_body


def search_params(req: falcon.Request) -> Params:
    """A SearchRequest body as the same parameters a list query takes."""
    search = search_request_from_body(req.get_media())
    return {
        "filter": search.filter, "startIndex": search.start_index, "count": search.count,
        "sortBy": search.sort_by, "sortOrder": search.sort_order,
        "attributes": search.attributes, "excludedAttributes": search.excluded_attributes,
    }  # fmt: skip


class CollectionSearch:
    def __init__(self, collection: Collection) -> None:
        self._collection = collection

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._collection.respond_list(req, resp, search_params(req))


class RootSearch:
    def __init__(self, *collections: Collection) -> None:
        self._collections = collections

    def _queries(self, params: Params) -> list[tuple[Collection, ListQuery]]:
        found: list[tuple[Collection, ListQuery]] = []
        refused: ScimError | None = None
        for collection in self._collections:
            try:
                found.append((collection, collection.query(params)))
            except ScimError as exc:
                if exc.scim_type != "invalidFilter" and exc.scim_type != "invalidValue":
                    raise
                refused = refused or exc  # not applicable to this resource type
        if not found and refused is not None:
            raise refused
        return found

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = search_params(req)
        queries = self._queries(params)
        req.context.filter = str(params.get("filter") or "")
        start, count = queries[0][1].start, queries[0][1].count
        within = scope(req)
        items: list[Document] = []
        total = 0
        for collection, query in queries:
            # ``start`` is global: skip what earlier resource types already covered.
            local_start = max(1, start - total)
            page, matched = collection.fetch(query, local_start, count - len(items), within)
            items.extend(page)
            total += matched
        resp.media = list_response(items, total, start)
