"""Group PATCH planned as membership deltas (Okta, Entra, JumpCloud), and PATCH bodies."""

from __future__ import annotations

from typing import Any

import pytest

from api.scim.errors import ScimError
from api.scim.mapping import group_to_scim
from api.scim.patch import parse_patch_request, plan_group_patch
from store.records import MembershipChange as Change
from tests.scim.payloads import ADSCIM_GROUP, BASE, GROUP, PATCH, group_record

GROUP_JSON = group_to_scim(group_record(None), BASE)  # members never loaded


def plan(*operations: dict[str, Any]) -> list[Change]:
    body = {"schemas": [PATCH], "Operations": list(operations)}
    return plan_group_patch(GROUP_JSON, parse_patch_request(body, 100))


PLANS = [
    # ---- Okta group push
    ("okta rename echoing the group id",
     [{"op": "replace", "value": {"id": "g-1", "displayName": "Eng"}}],
     [Change("rename", value="Eng")]),
    ("okta remove one member",
     [{"op": "remove", "path": 'members[value eq "u-1"]'}], [Change("remove", ("u-1",))]),
    ("okta add members",
     [{"op": "add", "path": "members", "value": [{"value": "u-1", "display": "jane@example.com"}]}],
     [Change("add", ("u-1",))]),
    ("okta push now on an empty group",
     [{"op": "replace", "path": "members", "value": []}], [Change("replace_all", ())]),
    ("okta membership update with its rename",
     [{"op": "replace", "value": {"id": "g-1", "displayName": "Engineering"}},
      {"op": "remove", "path": 'members[value eq "u-1"]'},
      {"op": "add", "path": "members", "value": [{"value": "u-2", "display": "b@example.com"}]}],
     [Change("rename", value="Engineering"), Change("remove", ("u-1",)), Change("add", ("u-2",))]),
    # ---- Entra
    ("entra Add with a null $ref",
     [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u-1"}]}],
     [Change("add", ("u-1",))]),
    ("entra Remove with a value list removes only those",
     [{"op": "Remove", "path": "members", "value": [{"value": "u-1"}, {"value": "u-2"}]}],
     [Change("remove", ("u-1", "u-2"))]),
    ("entra flag members filter removal",
     [{"op": "remove", "path": 'members[value eq "u-3"]'}], [Change("remove", ("u-3",))]),
    ("entra Replace displayName",
     [{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}],
     [Change("rename", value="Sales EMEA")]),
    ("entra Replace externalId",
     [{"op": "Replace", "path": "externalId", "value": "5b1c"}],
     [Change("external_id", value="5b1c")]),
    # ---- JumpCloud: value-only adds, repeated, value-list removal
    ("jumpcloud repeated adds",
     [{"op": "add", "path": "members", "value": [{"value": "u-1"}]},
      {"op": "add", "path": "members", "value": [{"value": "u-1"}]}],
     [Change("add", ("u-1",)), Change("add", ("u-1",))]),
    ("jumpcloud remove",
     [{"op": "remove", "path": "members", "value": [{"value": "u-1"}]}],
     [Change("remove", ("u-1",))]),
    # ---- other shapes
    ("remove all members", [{"op": "remove", "path": "members"}], [Change("remove_all")]),
    ("filter with or", [{"op": "remove", "path": 'members[value eq "a" or value eq "b"]'}],
     [Change("remove", ("a", "b"))]),
    ("filter with or in any case",
     [{"op": "remove", "path": 'MEMBERS[VALUE EQ "a" OR (value eq "b" or value eq "a")]'}],
     [Change("remove", ("a", "b"))]),
    ("replace members with a list",
     [{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}],
     [Change("replace_all", ("a", "b"))]),
    ("a single member object", [{"op": "add", "path": "members", "value": {"value": "a"}}],
     [Change("add", ("a",))]),
    ("an empty add changes nothing", [{"op": "add", "path": "members", "value": []}], []),
    ("no-path value with members and names",
     [{"op": "add", "value": {"members": [{"value": "a"}], "externalId": "x"}}],
     [Change("add", ("a",)), Change("external_id", value="x")]),
    ("no-path replace of members",
     [{"op": "replace", "value": {"members": [{"value": "a"}], "schemas": [GROUP]}}],
     [Change("replace_all", ("a",))]),
    ("remove externalId", [{"op": "remove", "path": "externalId"}],
     [Change("external_id", value=None)]),
    ("URN-qualified displayName",
     [{"op": "replace", "path": f"{GROUP}:displayName", "value": "X"}],
     [Change("rename", value="X")]),
    ("path naming the core schema",
     [{"op": "replace", "path": GROUP, "value": {"displayName": "Y"}}],
     [Change("rename", value="Y")]),
    ("entra's extra group schema is ignored",
     [{"op": "replace", "value": {f"{ADSCIM_GROUP}:something": "z"}}], []),
    ("replace id with the same id", [{"op": "replace", "path": "id", "value": "g-1"}], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operations", "expected"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS]
)
def test_group_plans(operations: list[dict[str, Any]], expected: list[Change]) -> None:
    assert plan(*operations) == expected


REFUSED = [
    ({"op": "replace", "value": {"id": "g-2", "displayName": "Eng"}}, "mutability", '"id"'),
    ({"op": "replace", "path": "meta", "value": {}}, "mutability", "meta"),
    ({"op": "remove", "path": "displayName"}, "mutability", "required"),
    ({"op": "replace", "path": "displayName", "value": None}, "mutability", "required"),
    ({"op": "replace", "path": "displayName", "value": " "}, "invalidValue", "displayName"),
    ({"op": "replace", "path": "displayName", "value": 7}, "invalidValue", "displayName"),
    ({"op": "replace", "path": "displayName", "value": "x" * 1025}, "invalidValue", "1024"),
    ({"op": "replace", "path": "externalId", "value": ["x"]}, "invalidValue", "externalId"),
    ({"op": "replace", "path": "description", "value": "x"}, "invalidPath", "description"),
    ({"op": "replace", "path": "userName", "value": "x"}, "invalidPath",
     "not an attribute of Group"),
    ({"op": "add", "path": "members", "value": [{"value": "g-9", "type": "Group"}]},
     "invalidValue", "members are Users"),
    ({"op": "add", "path": "members", "value": [{"value": ""}]}, "invalidValue", "non-empty"),
    ({"op": "add", "path": "members", "value": [{"display": "x"}]}, "invalidValue", "non-empty"),
    ({"op": "add", "path": "members", "value": ["u-1"]}, "invalidValue", "object"),
    ({"op": "add", "path": "members", "value": "u-1"}, "invalidValue", "array"),
    ({"op": "add", "path": 'members[value eq "a"]', "value": [{"value": "a"}]}, "invalidPath",
     "only supported with \"remove\""),
    ({"op": "remove", "path": 'members[display eq "a"]'}, "invalidFilter", "value eq"),
    ({"op": "remove", "path": 'members[value ne "a"]'}, "invalidFilter", "value eq"),
    ({"op": "remove", "path": 'members[value eq "a" and value eq "b"]'}, "invalidFilter",
     "value eq"),
    ({"op": "remove", "path": 'members[value eq ""]'}, "invalidFilter", "non-empty"),
    ({"op": "remove", "path": "members[value eq 5]"}, "invalidFilter", "non-empty"),
    ({"op": "replace", "path": "members.value", "value": "x"}, "invalidPath", "members.value"),
    ({"op": "replace", "path": "displayName.x", "value": "x"}, "invalidPath", "displayName.x"),
    ({"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Groups:displayName",
      "value": "x"}, "invalidPath", "unknown schema"),
    ({"op": "add", "path": "urn:example:custom:2.0:Group:badge", "value": "x"}, "invalidPath",
     "unknown schema"),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "scim_type", "fragment"), REFUSED)
def test_refused_group_patch(operation: dict[str, Any], scim_type: str, fragment: str) -> None:
    with pytest.raises(ScimError) as caught:
        plan(operation)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)
    assert fragment in caught.value.detail


# ---- the PATCH body itself -----------------------------------------------------------------

BODIES_REFUSED = [
    ([], "invalidSyntax", "JSON object"),
    ({"schemas": [GROUP], "Operations": [{"op": "add", "value": {}}]}, "invalidSyntax", "PatchOp"),
    ({"schemas": PATCH, "Operations": [{"op": "add", "value": {}}]}, "invalidSyntax", "PatchOp"),
    ({"schemas": [PATCH]}, "invalidSyntax", "Operations"),
    ({"schemas": [PATCH], "Operations": []}, "invalidSyntax", "non-empty"),
    ({"schemas": [PATCH], "Operations": {"op": "add"}}, "invalidSyntax", "non-empty"),
    ({"Operations": ["add"]}, "invalidSyntax", "object"),
    ({"Operations": [{"op": "delete", "path": "x"}]}, "invalidSyntax", '"op"'),
    ({"Operations": [{"op": None, "path": "x"}]}, "invalidSyntax", '"op"'),
    ({"Operations": [{"path": "displayName", "value": "x"}]}, "invalidSyntax", '"op"'),
    ({"Operations": [{"op": "remove"}]}, "noTarget", "path"),
    ({"Operations": [{"op": "Remove", "path": " "}]}, "noTarget", "path"),
    ({"Operations": [{"op": "add", "path": "displayName"}]}, "invalidSyntax", "value"),
    ({"Operations": [{"op": "replace", "value": "x"}]}, "invalidSyntax", "object"),
    ({"Operations": [{"op": "add", "path": 7, "value": "x"}]}, "invalidPath", "string"),
    ({"Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]}, "invalidPath", ""),
    ({"Operations": [{"op": "add", "path": "emails[type eq \"w\"]x", "value": "x"}]},
     "invalidPath", ""),
    ({"Operations": [{"op": "add", "path": "name.given.name", "value": "x"}]}, "invalidPath", ""),
    ({"Operations": [{"op": "add", "path": "[x]", "value": "x"}]}, "invalidPath", ""),
    ({"Operations": [{"op": "add", "path": "userName[value eq 1]", "value": "x"}]},
     "invalidPath", "not multi-valued"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "scim_type", "fragment"), BODIES_REFUSED)
def test_refused_patch_bodies(body: Any, scim_type: str, fragment: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_patch_request(body, 100)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)
    assert fragment in caught.value.detail


def test_too_many_operations() -> None:
    body = {"Operations": [{"op": "add", "path": "members", "value": []}] * 3}
    assert len(parse_patch_request(body, 3)) == 3
    with pytest.raises(ScimError) as caught:
        parse_patch_request(body, 2)
    assert (caught.value.status, caught.value.scim_type) == (400, "tooMany")
    assert "3 operations; at most 2" in caught.value.detail


def test_lenient_bodies() -> None:
    body = {"operations": [{"OP": "REPLACE", "Path": "", "Value": {"active": False}}]}
    (op,) = parse_patch_request(body, 10)
    assert (op.op, op.path, op.value) == ("replace", None, {"active": False})
    assert parse_patch_request({"schemas": [PATCH.upper()], "Operations": [op_add()]}, 1)


def op_add() -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": []}


def test_deeply_nested_values_are_refused_before_any_work() -> None:
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    body = {"Operations": [{"op": "add", "path": "nickName", "value": deep}]}
    with pytest.raises(ScimError) as caught:
        parse_patch_request(body, 10)
    assert caught.value.scim_type == "invalidValue"
    assert "deeper than 32" in caught.value.detail
