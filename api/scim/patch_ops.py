"""The PATCH request body (RFC 7644 §3.5.2) as a list of parsed operations.

Accepts what the IdPs send: op names in any case (Entra's "Add"/"Replace"/"Remove"), member
names of the body and of each operation in any case, ``schemas`` omitted (Entra's default
dialect) but checked when present, an empty ``path`` meaning no path. Refuses a body with no
operations, more operations than the limit (400 tooMany), an unknown op (invalidSyntax), a
bad path (invalidPath) and ``remove`` without a path (noTarget). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.scim.documents import check_nesting, lower_fields
from api.scim.errors import ScimError, invalid_path, invalid_syntax, no_target, too_many
from api.scim.paths import PatchPath, parse_path
from api.scim.urns import PATCH_OP

OPERATIONS = ("add", "replace", "remove")


@dataclass(frozen=True)
class PatchOp:
    op: str  # "add" | "replace" | "remove", lower case
    path: PatchPath | None
    value: Any = None
    raw_path: str | None = None  # as sent, for error details and audit


def in_operation(index: int, error: ScimError) -> ScimError:
    """The same error with the failing operation named in its detail."""
    return ScimError(error.status, error.scim_type, f"Operations[{index}]: {error.detail}")


def parse_patch_request(body: Any, max_operations: int) -> list[PatchOp]:
    if not isinstance(body, dict):
        raise invalid_syntax("the request body must be a JSON object")
    fields = lower_fields(body)
    schemas = fields.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or PATCH_OP.lower() not in {s.lower() for s in schemas if isinstance(s, str)}
    ):
        raise invalid_syntax(f'"schemas" must include "{PATCH_OP}"')
    operations = fields.get("operations")
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax('"Operations" must be a non-empty array')
    if len(operations) > max_operations:
        raise too_many(
            f"the PATCH request has {len(operations)} operations; at most {max_operations} "
            "are accepted in one request"
        )
    parsed = []
    for index, operation in enumerate(operations):
        try:
            parsed.append(_operation(operation))
        except ScimError as error:
            raise in_operation(index, error) from None
    return parsed


def _operation(operation: Any) -> PatchOp:
    if not isinstance(operation, dict):
        raise invalid_syntax("each operation must be an object")
    fields = lower_fields(operation)
    op = fields.get("op")
    if not isinstance(op, str) or op.strip().lower() not in OPERATIONS:
        raise invalid_syntax(f'"op" must be "add", "replace" or "remove", got {op!r:.60}')
    op = op.strip().lower()
    raw_path = fields.get("path")
    if raw_path is not None and not isinstance(raw_path, str):
        raise invalid_path('"path" must be a string')
    if raw_path is not None and not raw_path.strip():
        raw_path = None
    path = parse_path(raw_path) if raw_path is not None else None
    if op == "remove" and path is None:
        raise no_target('"remove" needs a "path"')
    if op != "remove" and "value" not in fields:
        raise invalid_syntax(f'"{op}" needs a "value"')
    value = fields.get("value")
    check_nesting(value, "value")  # values are deep-copied while applied
    if path is None and op != "remove" and not isinstance(value, dict):
        raise invalid_syntax(f'"{op}" without a "path" needs an object "value"')
    return PatchOp(op, path, value, raw_path)
