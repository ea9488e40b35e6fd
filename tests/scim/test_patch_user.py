"""PATCH on Users in every IdP dialect of IDP_QUIRKS, RFC edge cases and refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.scim.errors import ScimError
from api.scim.mapping import user_input_from_scim, user_to_scim
from api.scim.patch import apply_user_patch, parse_patch_request
from tests.scim.payloads import (
    BASE,
    CORE,
    ENTERPRISE,
    ENTRA_CREATE,
    JUMPCLOUD_CREATE,
    OKTA_CREATE,
    PATCH,
    user_record,
)

MANAGER = f"{ENTERPRISE}:manager"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def resource(body: dict[str, Any] = OKTA_CREATE, **changes: Any) -> dict[str, Any]:
    return user_to_scim(user_record(copy.deepcopy(body), **changes), BASE)


def patched(body: dict[str, Any], start: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_user_patch(start or resource(), parse_patch_request(body, 100))


def ops(*operations: dict[str, Any], schemas: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"Operations": list(operations)}
    if schemas:
        body["schemas"] = [PATCH]
    return body


def emails(user: dict[str, Any]) -> list[dict[str, Any]]:
    return user.get("emails", [])


def ext(user: dict[str, Any]) -> dict[str, Any]:
    return user.get(ENTERPRISE, {})


HOME_ONLY = {**OKTA_CREATE, "emails": [{"value": "jane@home.example", "type": "home"}]}
TWO_EMAILS = {
    **OKTA_CREATE,
    "emails": [
        {"value": "jane@example.com", "type": "work", "primary": True},
        {"value": "jane@home.example", "type": "home"},
    ],
}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = [
    # ---- Okta: activate / deactivate without a path
    ("okta deactivate", OKTA_CREATE,
     ops({"op": "replace", "value": {"active": False}}), lambda u: u["active"] is False),
    ("okta reactivate", OKTA_CREATE,
     ops({"op": "replace", "value": {"active": True}}), lambda u: u["active"] is True),
    # ---- Entra default dialect: no schemas, capitalised ops, string booleans
    ("entra Replace active False", OKTA_CREATE,
     ops({"op": "Replace", "path": "active", "value": "False"}, schemas=False),
     lambda u: u["active"] is False),
    ("entra Replace active false", OKTA_CREATE,
     ops({"op": "Replace", "path": "active", "value": "false"}, schemas=False),
     lambda u: u["active"] is False),
    ("entra Replace active True", OKTA_CREATE,
     ops({"op": "Replace", "path": "active", "value": "True"}, schemas=False),
     lambda u: u["active"] is True),
    ("entra Add nickName", OKTA_CREATE,
     ops({"op": "Add", "path": "nickName", "value": "Babs"}, schemas=False),
     lambda u: u["nickName"] == "Babs"),
    ("entra three replaces", ENTRA_CREATE,
     ops({"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
         {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
         {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "701985"},
         schemas=False),
     lambda u: emails(u) == [{"primary": True, "type": "work", "value": "b@example.com"}]
     and u["name"]["givenName"] == "Barbara" and ext(u)["employeeNumber"] == "701985"
     and ext(u)["department"] == "Tour Operations"),
    ("entra replace creates the missing work email", HOME_ONLY,
     ops({"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
         schemas=False),
     lambda u: emails(u) == [{"value": "jane@home.example", "type": "home"},
                             {"type": "work", "value": "b@example.com"}]),
    ("entra replace creates a primary work email", HOME_ONLY,
     ops({"op": "replace", "path": 'emails[type eq "work" and primary eq "True"].value',
          "value": "b@example.com"}),
     lambda u: emails(u)[1] == {"type": "work", "primary": True, "value": "b@example.com"}),
    ("entra enterprise manager as a bare string", ENTRA_CREATE,
     ops({"op": "Add", "path": MANAGER, "value": "m-7"}, schemas=False),
     lambda u: ext(u)["manager"] == {"value": "m-7"}),
    ("entra manager replaced by object", ENTRA_CREATE,
     ops({"op": "replace", "path": MANAGER, "value": {"value": "m-8", "$ref": None}}),
     lambda u: ext(u)["manager"] == {"value": "m-8"}),
    ("manager.value path", OKTA_CREATE,
     ops({"op": "add", "path": f"{MANAGER}.value", "value": "m-9"}),
     lambda u: ext(u) == {"manager": {"value": "m-9"}}),
    ("remove manager", ENTRA_CREATE,
     ops({"op": "Remove", "path": MANAGER}), lambda u: "manager" not in ext(u)),
    # ---- Entra aadOptscim062020 flag: lower case, real booleans, dotted and URN keys
    ("entra flag replace active", OKTA_CREATE,
     ops({"op": "replace", "path": "active", "value": False}), lambda u: u["active"] is False),
    ("entra flag no-path dotted and URN keys", OKTA_CREATE,
     ops({"op": "replace", "value": {"displayName": "B", "name.givenName": "K",
                                     f"{ENTERPRISE}:employeeNumber": "A"}}),
     lambda u: u["displayName"] == "B" and u["name"] == {"givenName": "K", "familyName": "Doe"}
     and ext(u) == {"employeeNumber": "A"}),
    ("no-path value with the extension object", ENTRA_CREATE,
     ops({"op": "replace", "value": {ENTERPRISE: {"department": "R&D"}}}),
     lambda u: ext(u)["department"] == "R&D" and ext(u)["employeeNumber"] == "701984"),
    ("path naming the whole extension", OKTA_CREATE,
     ops({"op": "add", "path": ENTERPRISE, "value": {"costCenter": "42", "manager": "m-1"}}),
     lambda u: ext(u) == {"costCenter": "42", "manager": {"value": "m-1"}}),
    ("remove the whole extension", ENTRA_CREATE,
     ops({"op": "remove", "path": ENTERPRISE}), lambda u: ENTERPRISE not in u),
    ("no-path id equal to the current one is ignored", OKTA_CREATE,
     ops({"op": "replace", "value": {"id": "u-1", "displayName": "Eng"}}),
     lambda u: u["id"] == "u-1" and u["displayName"] == "Eng"),
    ("no-path schemas key is ignored", OKTA_CREATE,
     ops({"op": "replace", "value": {"schemas": [CORE], "title": "CTO"}}),
     lambda u: u["title"] == "CTO" and u["schemas"] == [CORE]),
    # ---- JumpCloud: one replace per attribute
    ("jumpcloud replaces", JUMPCLOUD_CREATE,
     ops({"op": "replace", "path": "name.givenName", "value": "Johnny"},
         {"op": "replace", "path": "active", "value": False}),
     lambda u: u["name"]["givenName"] == "Johnny" and u["active"] is False),
    # ---- RFC 7644 §3.5.2 semantics
    ("remove by value filter", TWO_EMAILS,
     ops({"op": "remove", "path": 'emails[type eq "work"]'}),
     lambda u: emails(u) == [{"value": "jane@home.example", "type": "home"}]),
    ("remove a sub-attribute through a filter", TWO_EMAILS,
     ops({"op": "remove", "path": 'emails[type eq "work"].primary'}),
     lambda u: emails(u)[0] == {"value": "jane@example.com", "type": "work"}),
    ("remove listed values only", TWO_EMAILS,
     ops({"op": "remove", "path": "emails", "value": [{"value": "JANE@home.example"}]}),
     lambda u: [e["value"] for e in emails(u)] == ["jane@example.com"]),
    ("remove every value", TWO_EMAILS,
     ops({"op": "remove", "path": "emails"}), lambda u: "emails" not in u),
    ("primary on an added value clears the others", TWO_EMAILS,
     ops({"op": "add", "path": "emails",
          "value": [{"value": "new@example.com", "type": "other", "primary": True}]}),
     lambda u: [e.get("primary") for e in emails(u)] == [False, None, True]),
    ("primary through a filter clears the others", TWO_EMAILS,
     ops({"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"}),
     lambda u: [e.get("primary") for e in emails(u)] == [False, True]),
    ("add merges an equal value instead of repeating it", TWO_EMAILS,
     ops({"op": "add", "path": "emails", "value": [{"value": "JANE@example.com", "type": "WORK"}]},
         {"op": "add", "path": "emails", "value": {"value": "jane@home.example", "type": "home"}}),
     lambda u: len(emails(u)) == 2),
    ("replace a multi-valued attribute", TWO_EMAILS,
     ops({"op": "replace", "path": "emails", "value": [{"value": "only@corp"}]}),
     lambda u: emails(u) == [{"value": "only@corp"}]),
    ("replace a filtered element merges the value", TWO_EMAILS,
     ops({"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "h2@x"}}),
     lambda u: emails(u)[1] == {"value": "h2@x", "type": "home"}),
    ("sub-attribute of every element without a filter", TWO_EMAILS,
     ops({"op": "replace", "path": "emails.type", "value": "other"}),
     lambda u: {e["type"] for e in emails(u)} == {"other"}),
    ("add to another multi-valued attribute", OKTA_CREATE,
     ops({"op": "add", "path": "phoneNumbers",
          "value": [{"value": "+1 555 0100", "type": "work"}]}),
     lambda u: u["phoneNumbers"] == [{"value": "+1 555 0100", "type": "work"}]),
    ("remove of an absent attribute is a no-op", OKTA_CREATE,
     ops({"op": "remove", "path": "nickName"}, {"op": "remove", "path": 'emails[type eq "x"]'},
         {"op": "remove", "path": f"{ENTERPRISE}:department"}),
     lambda u: u == resource()),
    ("remove a sub-attribute", OKTA_CREATE,
     ops({"op": "remove", "path": "name.givenName"}), lambda u: u["name"] == {"familyName": "Doe"}),
    ("remove the last sub-attribute drops the attribute", OKTA_CREATE,
     ops({"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}),
     lambda u: "name" not in u),
    ("replace a complex attribute merges its sub-attributes", OKTA_CREATE,
     ops({"op": "replace", "path": "name", "value": {"familyName": "Roe", "middleName": None}}),
     lambda u: u["name"] == {"givenName": "Jane", "familyName": "Roe"}),
    ("attribute names in any case", OKTA_CREATE,
     ops({"op": "replace", "path": "NAME.GIVENNAME", "value": "J"},
         {"op": "replace", "path": "USERNAME", "value": "Jane.Doe@Example.com"},
         {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:user:DisplayName",
          "value": "J D"}),
     lambda u: u["name"]["givenName"] == "J" and u["userName"] == "Jane.Doe@Example.com"
     and u["displayName"] == "J D"),
    ("replace with null unsets", OKTA_CREATE,
     ops({"op": "replace", "path": "displayName", "value": None}),
     lambda u: "displayName" not in u),
    ("password is ignored, never stored", OKTA_CREATE,
     ops({"op": "replace", "path": "password", "value": "s3cret"},
         {"op": "replace", "value": {"password": "s3cret", "nickName": "J"}}),
     lambda u: "password" not in u and "s3cret" not in repr(u) and u["nickName"] == "J"),
    ("the whole extension with its own schemas member", OKTA_CREATE,
     ops({"op": "add", "path": ENTERPRISE,
          "value": {"schemas": [ENTERPRISE], "employeeNumber": "7", "manager": {"value": "m"}}}),
     lambda u: ext(u) == {"employeeNumber": "7", "manager": {"value": "m"}}),
    ("replace the whole extension with its own schemas member", ENTRA_CREATE,
     ops({"op": "replace", "path": ENTERPRISE,
          "value": {"Schemas": [ENTERPRISE], "employeeNumber": "8"}}),
     lambda u: ext(u)["employeeNumber"] == "8"),
    ("no-path extension object with its own schemas member", OKTA_CREATE,
     ops({"op": "replace", "value": {ENTERPRISE: {"schemas": [ENTERPRISE], "division": "D"}}}),
     lambda u: ext(u) == {"division": "D"}),
    ("entra's group schema in a user path changes nothing", OKTA_CREATE,
     ops({"op": "add", "path": f"{ENTRA_GROUP}:x", "value": "7"}),
     lambda u: u == resource()),
    ("operations apply in order", OKTA_CREATE,
     ops({"op": "add", "path": "nickName", "value": "A"},
         {"op": "replace", "path": "nickName", "value": "B"},
         {"op": "remove", "path": "nickName"}, {"op": "add", "path": "nickName", "value": "C"}),
     lambda u: u["nickName"] == "C"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "body", "check"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_user_patch(start: dict[str, Any], body: dict[str, Any], check: Any) -> None:
    before = resource(start)
    snapshot = copy.deepcopy(before)
    after = apply_user_patch(before, parse_patch_request(body, 100))
    assert before == snapshot  # the input is never modified
    assert check(after), after
    user_input_from_scim(after, mode="patch")  # and the result is a valid user


def test_patched_user_becomes_store_input() -> None:
    body = ops({"op": "Replace", "path": "active", "value": "False"},
               {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@corp"},
               schemas=False)  # fmt: skip
    given = user_input_from_scim(patched(body), mode="patch")
    assert given.active is False
    assert [e.value for e in given.emails] == ["b@corp"]
    assert given.external_id == "00ujl29u0le5T6Aj10h7"
    assert "groups" not in given.document and "meta" not in given.document


REFUSED = [
    (ops({"op": "replace", "path": "id", "value": "other"}), "mutability", '"id" is readOnly'),
    (ops({"op": "replace", "value": {"id": "other"}}), "mutability", '"id"'),
    (ops({"op": "replace", "path": "meta", "value": {}}), "mutability", "meta"),
    (ops({"op": "replace", "path": "meta.version", "value": "W/\"1\""}), "mutability", "meta"),
    (ops({"op": "add", "path": "groups", "value": [{"value": "g-2"}]}), "mutability", "groups"),
    (ops({"op": "replace", "value": {"groups": []}}), "mutability", "groups"),
    (ops({"op": "remove", "path": "userName"}), "mutability", "required"),
    (ops({"op": "replace", "path": f"{MANAGER}.displayName", "value": "x"}), "mutability",
     "manager.displayName"),
    (ops({"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User"}), "mutability",
     "User"),
    (ops({"op": "add", "path": "favouriteColour", "value": "blue"}), "invalidPath",
     "favouriteColour"),
    (ops({"op": "replace", "value": {"favouriteColour": "blue"}}), "invalidPath",
     "favouriteColour"),
    (ops({"op": "add", "path": "members", "value": [{"value": "u"}]}), "invalidPath",
     "not an attribute of User"),
    (ops({"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
          "value": "x"}), "invalidPath", "not an attribute of User"),
    (ops({"op": "replace", "path": "name.nickname", "value": "x"}), "invalidPath",
     "name.nickname"),
    (ops({"op": "add", "path": f"{ENTERPRISE}.manager", "value": {"value": "m"}}), "invalidPath",
     "unknown schema"),
    (ops({"op": "replace", "path": f"{ENTERPRISE}s:employeeNumber", "value": "1"}),
     "invalidPath", "unknown schema"),
    (ops({"op": "add", "path": "urn:example:custom:2.0:User:badge", "value": "7"}),
     "invalidPath", "urn:example:custom:2.0:User"),
    (ops({"op": "add", "path": "urn:example:custom:2.0:User", "value": {"badge": "7"}}),
     "invalidPath", "unknown schema"),
    (ops({"op": "replace", "value": {"urn:example:custom:2.0:User:badge": "7"}}), "invalidPath",
     "unknown schema"),
    (ops({"op": "replace", "path": 'emails[type eq "x" or type eq "y"].value', "value": "a"}),
     "noTarget", "matches"),
    (ops({"op": "replace", "path": "name", "value": "Jane Doe"}), "invalidValue", "name"),
    (ops({"op": "add", "path": "emails", "value": ["a@x"]}), "invalidValue", "emails"),
    (ops({"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": True},
                                                   {"value": "b@x", "primary": True}]}),
     "invalidValue", "more than one"),
    (ops({"op": "replace", "path": 'emails[type eq "work"]', "value": "x@y"}), "invalidValue",
     "emails"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "scim_type", "fragment"), REFUSED)
def test_refused_user_patch(body: dict[str, Any], scim_type: str, fragment: str) -> None:
    start = resource()
    snapshot = copy.deepcopy(start)
    with pytest.raises(ScimError) as caught:
        apply_user_patch(start, parse_patch_request(body, 100))
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)
    assert fragment in caught.value.detail
    assert caught.value.detail.startswith("Operations[0]: ")
    assert start == snapshot


def test_failure_in_a_later_operation_changes_nothing() -> None:
    start = resource()
    snapshot = copy.deepcopy(start)
    body = ops({"op": "replace", "path": "active", "value": False},
               {"op": "replace", "path": "displayName", "value": "X"},
               {"op": "replace", "path": "meta", "value": {}})  # fmt: skip
    with pytest.raises(ScimError) as caught:
        apply_user_patch(start, parse_patch_request(body, 100))
    assert caught.value.detail.startswith("Operations[2]: ")
    assert start == snapshot


def test_invalid_results_are_caught_by_the_mapping() -> None:
    after = patched(ops({"op": "replace", "path": "active", "value": "maybe"}))
    with pytest.raises(ScimError) as caught:
        user_input_from_scim(after, mode="patch")
    assert caught.value.scim_type == "invalidValue"
