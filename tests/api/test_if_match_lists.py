"""``If-Match`` with a list of entity tags (RFC 7232 §3.1): the write goes ahead when ANY
listed tag is the current version, ``*`` matches any existing resource, and a list naming
only stale versions answers 412 without changing anything. Users and groups, PUT, PATCH and
DELETE, through the real app on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon.testing
import pytest

from tests.api.conftest import GROUP_URN, USER_URN, Scim, assert_scim_error, patch_op

Write = Callable[[Scim, str, dict[str, str]], falcon.testing.Result]


def _user_put(scim: Scim, path: str, headers: dict[str, str]) -> falcon.testing.Result:
    body = {"schemas": [USER_URN], "userName": "jane@example.com", "displayName": "Put"}
    return scim.put(path, body, headers=headers)


def _group_put(scim: Scim, path: str, headers: dict[str, str]) -> falcon.testing.Result:
    return scim.put(path, {"schemas": [GROUP_URN], "displayName": "Put"}, headers=headers)


def _patch(scim: Scim, path: str, headers: dict[str, str]) -> falcon.testing.Result:
    rename = patch_op({"op": "replace", "path": "displayName", "value": "Patched"})
    return scim.patch(path, rename, headers=headers)


def _delete(scim: Scim, path: str, headers: dict[str, str]) -> falcon.testing.Result:
    return scim.delete(path, headers=headers)


def _user_at_version_3(scim: Scim) -> tuple[str, dict[str, Any]]:
    user = scim.create_user("jane@example.com", displayName="v1")
    path = f"/Users/{user['id']}"
    for name in ("v2", "v3"):
        _patch_name(scim, path, name)
    return path, scim.get(path).json


def _group_at_version_3(scim: Scim) -> tuple[str, dict[str, Any]]:
    group = scim.create_group("Eng")
    path = f"/Groups/{group['id']}"
    for name in ("Eng 2", "Eng 3"):
        _patch_name(scim, path, name)
    return path, scim.get(path).json


def _patch_name(scim: Scim, path: str, name: str) -> None:
    result = scim.patch(path, patch_op({"op": "replace", "path": "displayName", "value": name}))
    assert result.status_code in (200, 204), result.text


RESOURCES = {"users": _user_at_version_3, "groups": _group_at_version_3}
VERBS: dict[str, dict[str, Write]] = {
    "users": {"PUT": _user_put, "PATCH": _patch, "DELETE": _delete},
    "groups": {"PUT": _group_put, "PATCH": _patch, "DELETE": _delete},
}
CASES = [(kind, verb) for kind in RESOURCES for verb in ("PUT", "PATCH", "DELETE")]


@pytest.mark.parametrize(("kind", "verb"), CASES)
@pytest.mark.parametrize("header", ['W/"1", W/"3"', 'W/"3", W/"1"', '"2", W/"3", "9"', "*"])
def test_any_listed_version_matches(scim: Scim, kind: str, verb: str, header: str) -> None:
    path, before = RESOURCES[kind](scim)
    assert before["meta"]["version"] == 'W/"3"'
    result = VERBS[kind][verb](scim, path, {"If-Match": header})
    assert result.status_code in (200, 204), result.text
    if verb == "DELETE":
        assert_scim_error(scim.get(path), 404)
    else:
        assert scim.get(path).json["meta"]["version"] == 'W/"4"'


@pytest.mark.parametrize(("kind", "verb"), CASES)
def test_a_list_of_stale_versions_is_412_and_changes_nothing(
    scim: Scim, kind: str, verb: str
) -> None:
    path, before = RESOURCES[kind](scim)
    result = VERBS[kind][verb](scim, path, {"If-Match": 'W/"1", W/"2", W/"4"'})
    assert_scim_error(result, 412)
    assert scim.get(path).json == before


@pytest.mark.parametrize(("kind", "verb"), CASES)
def test_star_on_a_missing_resource_is_404(scim: Scim, kind: str, verb: str) -> None:
    path = "/Users/missing" if kind == "users" else "/Groups/missing"
    assert_scim_error(VERBS[kind][verb](scim, path, {"If-Match": "*"}), 404)
