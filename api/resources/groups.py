"""``/Groups`` and ``/Groups/{id}``: parse with ``api.scim``, call one use case, serialise.

Membership changes go to the store as deltas (``plan_group_patch``), so a PATCH costs the
same whatever the size of the group; its answer is 204 unless the client asked for
attributes, and ``excludedAttributes=members`` keeps the member list from being loaded."""

from __future__ import annotations

from collections.abc import Sequence

import falcon

from api.resources.common import (
    Collection,
    Document,
    ListQuery,
    Projection,
    actor,
    if_match,
    projection,
    query_params,
    scope,
    send_resource,
)
from api.scim.mapping import etag, group_input_from_scim, group_to_scim
from api.scim.patch import parse_patch_request, plan_group_patch
from store.domain.scope import Scope
from store.queries.groups import get_group, list_groups
from store.records import GroupRecord, MembershipChange
from store.services.groups import change_group, create_group, delete_group, replace_group

RESOURCE = "Group"
NO_MEMBERS = ["members"]


class Groups(Collection):
    RESOURCE = RESOURCE

    def _send(
        self, resp: falcon.Response, group: GroupRecord, shown: Projection, status: int = 200
    ) -> None:
        body = group_to_scim(group, self._base, shown.attributes, shown.excluded)
        location = f"{self._base}/Groups/{group.id}" if status == 201 else None
        send_resource(resp, body, group.version, status=status, location=location)

    def fetch(
        self, query: ListQuery, start: int, count: int, within: Scope
    ) -> tuple[list[Document], int]:
        shown = query.projection
        page = list_groups(self._store, query.criteria, start, count, query.sort,
                           shown.wants("members"), within)  # fmt: skip
        items = [group_to_scim(g, self._base, shown.attributes, shown.excluded) for g in page.items]
        return items, page.total

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        data, member_ids = group_input_from_scim(req.get_media())
        group = create_group(self._store, data, member_ids, actor(req), scope(req))
        self._send(resp, group, projection(query_params(req)), status=201)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        shown = projection(query_params(req))
        group = get_group(self._store, group_id, shown.wants("members"), scope(req))
        self._send(resp, group, shown)

    def on_put_item(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        data, member_ids = group_input_from_scim(req.get_media())
        group = replace_group(
            self._store, group_id, data, member_ids, actor(req), if_match(req), scope(req)
        )
        self._send(resp, group, projection(query_params(req)))

    def on_patch_item(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        ops = parse_patch_request(req.get_media(), self._store.settings.api.max_operations)
        shown = projection(query_params(req))

        def plan(current: GroupRecord) -> Sequence[MembershipChange]:
            document = group_to_scim(current, self._base, None, NO_MEMBERS)
            return plan_group_patch(document, ops)

        group = change_group(self._store, group_id, plan, actor(req), if_match(req), scope(req))
        if not shown.asked:  # IdPs rarely read the answer; loading members would cost O(n)
            resp.status = falcon.HTTP_204
            resp.set_header("ETag", etag(group.version))
            return
        group = get_group(self._store, group_id, shown.wants("members"), scope(req))
        self._send(resp, group, shown)

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        delete_group(self._store, group_id, actor(req), if_match(req), scope(req))
        resp.status = falcon.HTTP_204
