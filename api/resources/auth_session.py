"""``GET /auth/session``: is this browser signed in to Control? For Control's web tier and for
an nginx ``auth_request``.

200 with the user and effective roles (also as ``X-Auth-User`` / ``X-Auth-Roles`` headers for
nginx to pass upstream) when the session cookie is live; 401 with the sign-in location when
it is not, so a deactivated user's next request goes back to sign in. Only the session
cookie counts: an Authorization header (a SCIM token) is never looked at here. The rules live
in ``store.services.sessions.check_session``; this responder only translates. An accepted
check records the browser's address and User-Agent on the session when a trusted proxy
forwards them (``api.client.session_client``: ``X-Forwarded-For`` from a peer in ``[api]
trusted_proxies``, never from another peer).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import falcon

from api.client import session_client
from api.metrics import ApiMetrics
from store.context import Store
from store.domain.enums import SessionEnd
from store.errors import Unavailable
from store.records import SessionCheck
from store.services.sessions import AMBIGUOUS, check_session_cookies

_HEADER_SAFE = "@._-+!#$&'*^`|~"  # header values must be latin-1: anything else is %-encoded


_REASONS: dict[str, str] = {
    SessionEnd.ENDED: "session ended",
    SessionEnd.EXPIRED: "session expired",
    SessionEnd.IDLE: "session expired after inactivity",
    SessionEnd.USER_INACTIVE: "account inactive",
    SessionEnd.USER_DELETED: "account removed",
    AMBIGUOUS: "sessions of two users: sign in again",
}


class AuthSessionResource:
    def __init__(self, store: Store, metrics: ApiMetrics | None = None) -> None:
        self._store = store
        self._settings = store.settings.sessions
        self._metrics = metrics or ApiMetrics()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header("Cache-Control", "no-store")
        resp.content_type = falcon.MEDIA_JSON
        resp.vary = ("Cookie",)
        try:
            check = self._check(req)
        except Unavailable:
            self._metrics.session_checked("unavailable")
            resp.status = falcon.HTTP_503
            resp.set_header("Retry-After", "2")
            resp.data = _json({"error": "session store unavailable"})
            return
        self._metrics.session_checked("ok" if check.valid else check.reason)
        if not check.valid:
            self._refuse(resp, check.reason)
            return
        user, roles = check.user_name or "", list(check.roles)
        resp.set_header("X-Auth-User", quote(user, safe=_HEADER_SAFE))
        resp.set_header("X-Auth-Roles", ",".join(quote(r, safe=_HEADER_SAFE) for r in roles))
        resp.data = _json({"user": user, "displayName": check.display_name, "roles": roles})

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.on_get(req, resp)
        resp.data = b""  # same status and headers, no body

    def _check(self, req: falcon.Request) -> SessionCheck:
        values = req.get_cookie_values(self._settings.cookie_name) or []
        return check_session_cookies(self._store, values, session_client(req, self._store))

    def _refuse(self, resp: falcon.Response, reason: str) -> None:
        resp.status = falcon.HTTP_401
        resp.set_header("Location", self._settings.sign_in_url)
        detail = _REASONS.get(reason, "not signed in")
        resp.data = _json({"error": detail, "signIn": self._settings.sign_in_url})


def _json(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode("utf-8")
