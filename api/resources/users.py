"""``/Users`` and ``/Users/{id}``: each responder parses (``api.scim``), calls one use case
(``store``) and serialises. No rule of the product or of the protocol is decided here."""

from __future__ import annotations

import falcon

from api.resources.common import (
    Collection,
    Document,
    ListQuery,
    actor,
    if_match,
    projection,
    query_params,
    scope,
    send_resource,
)
from api.scim.mapping import user_input_from_scim, user_to_scim
from api.scim.patch import apply_user_patch, parse_patch_request
from store.domain.scope import Scope
from store.queries.users import get_user, list_users
from store.records import UserInput, UserRecord
from store.services.users import create_user, delete_user, modify_user, replace_user

RESOURCE = "User"


class Users(Collection):
    RESOURCE = RESOURCE

    def _send(
        self, req: falcon.Request, resp: falcon.Response, user: UserRecord, status: int = 200
    ) -> None:
        shown = projection(query_params(req))
        body = user_to_scim(user, self._base, shown.attributes, shown.excluded)
        location = f"{self._base}/Users/{user.id}" if status == 201 else None
        send_resource(resp, body, user.version, status=status, location=location)

    def fetch(
        self, query: ListQuery, start: int, count: int, within: Scope
    ) -> tuple[list[Document], int]:
        page = list_users(self._store, query.criteria, start, count, query.sort, within)
        shown = query.projection
        items = [user_to_scim(u, self._base, shown.attributes, shown.excluded) for u in page.items]
        return items, page.total

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        data = user_input_from_scim(req.get_media(), mode="create")
        user = create_user(self._store, data, actor(req), scope(req))
        self._send(req, resp, user, status=201)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        self._send(req, resp, get_user(self._store, user_id, scope(req)))

    def on_put_item(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        data = user_input_from_scim(req.get_media(), mode="replace")
        user = replace_user(self._store, user_id, data, actor(req), if_match(req), scope(req))
        self._send(req, resp, user)

    def on_patch_item(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        ops = parse_patch_request(req.get_media(), self._store.settings.api.max_operations)

        def transform(current: UserRecord) -> UserInput:
            document = apply_user_patch(user_to_scim(current, self._base, None, None), ops)
            return user_input_from_scim(document, mode="patch")

        user = modify_user(self._store, user_id, transform, actor(req), if_match(req), scope(req))
        self._send(req, resp, user)

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        delete_user(self._store, user_id, actor(req), if_match(req), scope(req))
        resp.status = falcon.HTTP_204
