"""The PATCH engine (RFC 7644 §3.5.2): request parsing, User application, Group planning.

One import point for the edges; the work lives in ``patch_ops`` (the request body),
``user_patch`` (atomic application to a User's SCIM JSON) and ``group_patch`` (membership
deltas that never need the member list). Pure.
"""

from __future__ import annotations

from api.scim.group_patch import plan_group_patch
from api.scim.patch_ops import OPERATIONS, PatchOp, parse_patch_request
from api.scim.user_patch import apply_user_patch

__all__ = ["OPERATIONS", "PatchOp", "apply_user_patch", "parse_patch_request", "plan_group_patch"]
