"""SCIM errors: one exception type carrying the HTTP status and RFC 7644 §3.12 scimType.

Every failure of the protocol core is a ``ScimError``; the API edge turns it into the error
body with ``to_body()``. Nothing here knows about HTTP frameworks or the store.
"""

from __future__ import annotations

from typing import Any

from api.scim.urns import (  # noqa: F401  (re-exported: callers import constants from here too)
    ENTERPRISE_USER,
    ERROR,
    GROUP,
    LIST_RESPONSE,
    PATCH_OP,
    RESOURCE_TYPE,
    SCHEMA,
    SCIM_CONTENT_TYPE,
    SEARCH_REQUEST,
    SP_CONFIG,
    USER,
)


class ScimError(Exception):
    """A request the service refuses, with the status and scimType a SCIM client expects."""

    def __init__(self, status: int, scim_type: str | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.scim_type = scim_type
        self.detail = detail

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR], "status": str(self.status)}
        if self.scim_type is not None:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body

    def __repr__(self) -> str:
        return f"ScimError({self.status}, {self.scim_type!r}, {self.detail!r})"


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, "invalidFilter", detail)


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, "invalidSyntax", detail)


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, "invalidValue", detail)


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, "invalidPath", detail)


def no_target(detail: str) -> ScimError:
    return ScimError(400, "noTarget", detail)


def mutability(detail: str) -> ScimError:
    return ScimError(400, "mutability", detail)


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, "uniqueness", detail)


def too_many(detail: str) -> ScimError:
    return ScimError(400, "tooMany", detail)


def not_found(detail: str) -> ScimError:
    return ScimError(404, None, detail)


def precondition_failed(detail: str) -> ScimError:
    return ScimError(412, None, detail)


def invalid_version(detail: str) -> ScimError:
    return ScimError(400, "invalidVers", detail)
