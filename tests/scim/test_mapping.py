"""SCIM JSON <-> store records: IdP create bodies, refusals, representation, projection."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api.scim.errors import ScimError
from api.scim.mapping import (
    etag,
    group_input_from_scim,
    group_to_scim,
    if_match_versions,
    list_response,
    user_input_from_scim,
    user_to_scim,
)
from store.records import EmailInput, MemberRef
from tests.scim.payloads import (
    ADSCIM_GROUP,
    BASE,
    CORE,
    ENTERPRISE,
    ENTRA_CREATE,
    GROUP,
    JUMPCLOUD_CREATE,
    OKTA_CREATE,
    group_record,
    user_record,
)


def test_okta_create_drops_password_and_groups() -> None:
    given = user_input_from_scim(copy.deepcopy(OKTA_CREATE))
    assert given.user_name == "jane@example.com"
    assert given.external_id == "00ujl29u0le5T6Aj10h7"
    assert given.display_name == "Jane Doe"
    assert (given.given_name, given.family_name) == ("Jane", "Doe")
    assert given.active is True
    assert given.emails == (EmailInput("jane@example.com", "work", True),)
    assert given.document == {
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "displayName": "Jane Doe",
        "locale": "en-US",
        "emails": [{"primary": True, "value": "jane@example.com", "type": "work"}],
    }
    assert "1mz050nq" not in repr(given)


@pytest.mark.parametrize("key", ["password", "PASSWORD", "Password"])
def test_the_api_itself_drops_a_password_on_input_and_output(key: str) -> None:
    """The mapping discards a password however it is spelled, and never returns one even
    from a stored document that holds it: the store stripping it too is a second line."""
    given = user_input_from_scim(dict(copy.deepcopy(OKTA_CREATE), **{key: "s3cret"}))
    assert "s3cret" not in repr(given)
    record = user_record(OKTA_CREATE)
    leaked = replace(record, document=dict(record.document, password="s3cret"))
    assert "s3cret" not in repr(user_to_scim(leaked, BASE))


def test_entra_create_keeps_enterprise_extension_and_normalises_manager() -> None:
    given = user_input_from_scim(copy.deepcopy(ENTRA_CREATE))
    assert given.user_name == "Barbara.Jensen@contoso.example"
    assert given.document[ENTERPRISE] == {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "m-42"},
    }
    assert "roles" not in given.document  # empty list: unassigned
    assert given.document["name"]["formatted"] == "Barbara Jensen"


def test_jumpcloud_on_prem_email_is_accepted() -> None:
    given = user_input_from_scim(copy.deepcopy(JUMPCLOUD_CREATE))
    assert given.emails == (EmailInput("john.smith@corp", "work", True),)
    body = {"schemas": [CORE], "userName": "ops", "emails": [{"value": "root@localhost"}]}
    assert user_input_from_scim(body).emails == (EmailInput("root@localhost", None, False),)


LENIENT = [
    ({"active": "False"}, lambda u: u.active is False),
    ({"active": "true"}, lambda u: u.active is True),
    ({"active": None}, lambda u: u.active is None),  # null: not given; the write decides
    ({"displayName": None, "nickName": None}, lambda u: "nickName" not in u.document),
    ({"USERNAME": "Case@Example.com", "userName": None},
     lambda u: u.user_name == "Case@Example.com"),
    ({"userName": 42}, lambda u: u.user_name == "42"),
    ({"DisplayName": "X", "displayName": None},
     lambda u: u.document["displayName"] == "X" and u.display_name == "X"),
    ({"id": "forged", "meta": {"version": "W/\"9\""}}, lambda u: "id" not in u.document),
    ({"customThing": {"a": 1}}, lambda u: "customThing" not in u.document),
    ({"userNmae": "typo@example.com", "favouriteColour": "blue"},  # core-looking: ignored
     lambda u: u.user_name == "jane@example.com" and "userNmae" not in u.document),
    ({"schemas": [CORE, "urn:example:custom:1.0:User"]}, lambda u: len(u.document) == 4),
    ({f"{ENTERPRISE}:employeeNumber": "7"}, lambda u: ENTERPRISE not in u.document),
    ({"emails": [{"value": "a@x", "primary": "True"}]}, lambda u: u.emails[0].primary is True),
    ({"emails": [{"value": "a@x", "unknownSub": 1}]},
     lambda u: u.document["emails"] == [{"value": "a@x"}]),
    ({"name": {"givenName": None}}, lambda u: u.given_name is None),
    ({ENTERPRISE: {"manager": {"value": "m", "displayName": "RO"}}},
     lambda u: u.document[ENTERPRISE] == {"manager": {"value": "m"}}),
    ({ENTERPRISE: {"manager": {"$ref": None, "value": ""}}},
     lambda u: ENTERPRISE not in u.document),
    ({ENTERPRISE.upper(): {"department": "X"}},
     lambda u: u.document[ENTERPRISE] == {"department": "X"}),
    ({ENTERPRISE: {"employeeNumber": 701984}},
     lambda u: u.document[ENTERPRISE]["employeeNumber"] == "701984"),
    ({"externalId": ""}, lambda u: u.external_id is None),
    ({"schemas": [CORE, ENTERPRISE, "urn:example:custom"]},
     lambda u: u.user_name == "jane@example.com"),
    ({"schemas": [CORE.upper()]}, lambda u: u.user_name == "jane@example.com"),
    ({"phoneNumbers": [{"value": "+1 555", "type": "work"}]},
     lambda u: u.document["phoneNumbers"][0]["value"] == "+1 555"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "check"), LENIENT)
def test_lenient_input(changes: dict[str, Any], check: Any) -> None:
    body = {**copy.deepcopy(OKTA_CREATE), **changes}
    assert check(user_input_from_scim(body))


REFUSED = [
    ({"schemas": None}, "invalidSyntax", "schemas"),
    ({"schemas": [GROUP]}, "invalidSyntax", CORE),
    ({"schemas": "urn"}, "invalidSyntax", "schemas"),
    ({"userName": None}, "invalidValue", "userName"),
    ({"userName": "  "}, "invalidValue", "userName"),
    ({"userName": True}, "invalidValue", "userName"),
    ({"userName": "x" * 513}, "invalidValue", "longer than 512"),
    ({"userName": "ﬃ" * 200}, "invalidValue", "longer than 512"),  # folds to 600 characters
    ({"userName": "a\x00b"}, "invalidValue", "NUL"),
    ({"displayName": "\ud800"}, "invalidValue", "surrogate"),
    ({"active": "yes"}, "invalidValue", "active"),
    ({"active": 1}, "invalidValue", "active"),
    ({"emails": {"value": "a@x"}}, "invalidValue", "emails"),
    ({"emails": ["a@x"]}, "invalidValue", "emails[0]"),
    ({"emails": [{"type": "work"}]}, "invalidValue", "emails[0].value"),
    ({"emails": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}]},
     "invalidValue", "more than one"),
    ({"emails": [{"value": ["a"]}]}, "invalidValue", "emails[0].value"),
    ({"name": "Jane Doe"}, "invalidValue", "name"),
    ({"externalId": {"id": 1}}, "invalidValue", "externalId"),
    ({ENTERPRISE: "x"}, "invalidValue", ENTERPRISE),
    ({"urn:example:custom:1.0:User": {"x": 1}}, "invalidSyntax", "urn:example:custom:1.0:User"),
    ({ENTERPRISE + "s": {"employeeNumber": "7"}}, "invalidSyntax", "not a schema"),
    ({ENTERPRISE.replace(":User", ".User"): {"employeeNumber": "7"}}, "invalidSyntax",
     "not a schema"),
    ({"urn:example:custom:1.0:User:badge": "7"}, "invalidSyntax", "not a schema"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "scim_type", "fragment"), REFUSED)
def test_refused_input(changes: dict[str, Any], scim_type: str, fragment: str) -> None:
    body = {**copy.deepcopy(OKTA_CREATE), **changes}
    with pytest.raises(ScimError) as caught:
        user_input_from_scim(body)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)
    assert fragment in caught.value.detail


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_non_object_bodies_are_invalid_syntax(body: Any) -> None:
    with pytest.raises(ScimError) as caught:
        user_input_from_scim(body)
    assert caught.value.scim_type == "invalidSyntax"


def test_patch_mode_tolerates_missing_schemas() -> None:
    assert user_input_from_scim({"userName": "a"}, mode="patch").user_name == "a"
    with pytest.raises(ScimError):
        user_input_from_scim({"userName": "a"}, mode="replace")


def test_user_representation() -> None:
    record = user_record(ENTRA_CREATE)
    resource = user_to_scim(record, BASE)
    assert resource["schemas"] == [CORE, ENTERPRISE]
    assert resource["id"] == "u-1"
    assert resource["userName"] == "Barbara.Jensen@contoso.example"
    assert resource["externalId"] == "0a5b2c0e-9d61-4c3f-8f0e-3c1c2b7d9e11"
    assert resource["active"] is True
    assert resource["groups"] == [
        {"value": "g-1", "display": "Engineering", "$ref": f"{BASE}/Groups/g-1", "type": "direct"}
    ]
    assert resource[ENTERPRISE]["manager"] == {"value": "m-42"}
    assert resource["meta"] == {
        "resourceType": "User",
        "created": "2024-05-01T12:00:00Z",
        "lastModified": "2024-05-02T08:30:15Z",
        "location": f"{BASE}/Users/u-1",
        "version": 'W/"4"',
    }
    assert "password" not in resource


def test_representation_round_trips_through_input() -> None:
    for body in (OKTA_CREATE, ENTRA_CREATE, JUMPCLOUD_CREATE):
        first = user_input_from_scim(copy.deepcopy(body))
        again = user_input_from_scim(user_to_scim(user_record(body), BASE), mode="replace")
        assert again == first


def test_user_columns_win_over_document() -> None:
    record = user_record(OKTA_CREATE, active=False, user_name="JANE@example.com")
    resource = user_to_scim(record, BASE)
    assert resource["active"] is False
    assert resource["userName"] == "JANE@example.com"
    assert user_to_scim(user_record(OKTA_CREATE, groups=()), BASE).get("groups") is None


def test_timestamps_are_utc_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    record = user_record(OKTA_CREATE, created=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two),
                         last_modified=datetime(2024, 5, 1, 12, 0, 0, 250000))  # fmt: skip
    meta = user_to_scim(record, BASE)["meta"]
    assert meta["created"] == "2024-05-01T12:00:00Z"
    assert meta["lastModified"] == "2024-05-01T12:00:00.250000Z"


PROJECTIONS = [
    (["userName"], None, {"schemas", "id", "userName"}),
    (["USERNAME", "name.givenName"], None, {"schemas", "id", "userName", "name"}),
    ([f"{CORE}:emails.value"], None, {"schemas", "id", "emails"}),
    ([f"{ENTERPRISE}:employeeNumber"], None, {"schemas", "id", ENTERPRISE}),
    ([ENTERPRISE], None, {"schemas", "id", ENTERPRISE}),
    (["nothingLikeThis"], None, {"schemas", "id"}),
    (["id", "schemas", "meta"], None, {"schemas", "id", "meta"}),
    (None, ["groups", "meta", "id", "schemas", ENTERPRISE, "emails", "name", "roles"],
     {"schemas", "id", "externalId", "userName", "active"}),
]  # fmt: skip


@pytest.mark.parametrize(("attributes", "excluded", "keys"), PROJECTIONS)
def test_projection(attributes: Any, excluded: Any, keys: set[str]) -> None:
    resource = user_to_scim(user_record(ENTRA_CREATE), BASE, attributes, excluded)
    assert set(resource) == keys


def test_projection_of_sub_attributes() -> None:
    record = user_record(ENTRA_CREATE)
    picked = user_to_scim(record, BASE, ["name.givenName", "emails.value", f"{ENTERPRISE}:manager"])
    assert picked["name"] == {"givenName": "Barbara"}
    assert picked["emails"] == [{"value": "Barbara.Jensen@contoso.example"}]
    assert picked[ENTERPRISE] == {"manager": {"value": "m-42"}}
    dropped = user_to_scim(record, BASE, None, ["name.givenName", "emails.primary", "meta.version"])
    assert dropped["name"] == {"formatted": "Barbara Jensen", "familyName": "Jensen"}
    assert dropped["emails"] == [{"type": "work", "value": "Barbara.Jensen@contoso.example"}]
    assert "version" not in dropped["meta"]


GROUP_INPUTS = [
    ({"schemas": [GROUP], "displayName": "Eng", "members": []}, "Eng", None, ()),
    ({"schemas": [GROUP, ADSCIM_GROUP], "displayName": "Sales", "externalId": "e-9"},
     "Sales", "e-9", ()),
    ({"schemas": [GROUP, ADSCIM_GROUP], "displayName": "Sales", ADSCIM_GROUP: {}},
     "Sales", None, ()),
    ({"schemas": [GROUP], "displayName": "Ops",
      "members": [{"value": "u1", "display": "a@x"}, {"value": "u2", "type": "User", "$ref": None},
                  {"value": "u1"}]},
     "Ops", None, ("u1", "u2")),
]  # fmt: skip


@pytest.mark.parametrize(("body", "name", "external_id", "members"), GROUP_INPUTS)
def test_group_input(body: Any, name: str, external_id: Any, members: tuple[str, ...]) -> None:
    given, ids = group_input_from_scim(body)
    assert (given.display_name, given.external_id, given.document) == (name, external_id, {})
    assert ids == members


GROUP_REFUSED = [
    ({"displayName": "Eng"}, "invalidSyntax"),
    ({"schemas": [CORE], "displayName": "Eng"}, "invalidSyntax"),
    ({"schemas": [GROUP]}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": ""}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": "x" * 1025}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": "E", "members": [{"value": "g2", "type": "Group"}]},
     "invalidValue"),
    ({"schemas": [GROUP], "displayName": "E", "members": [{"display": "x"}]}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": "E", "members": ["u1"]}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": "E", "members": "u1"}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": "E", "externalId": []}, "invalidValue"),
    ({"schemas": [GROUP], "displayName": "E", "urn:example:custom:1.0:Group": {}},
     "invalidSyntax"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "scim_type"), GROUP_REFUSED)
def test_group_input_refused(body: Any, scim_type: str) -> None:
    with pytest.raises(ScimError) as caught:
        group_input_from_scim(body)
    assert caught.value.scim_type == scim_type


def test_group_representation() -> None:
    members = (MemberRef("u-1", "jane@example.com"),)
    resource = group_to_scim(group_record(members, external_id="e-1"), BASE)
    assert resource == {
        "schemas": [GROUP],
        "id": "g-1",
        "externalId": "e-1",
        "displayName": "Engineering",
        "members": [{"value": "u-1", "$ref": f"{BASE}/Users/u-1", "type": "User"}],
        "meta": {"resourceType": "Group", "created": "2024-05-01T12:00:00Z",
                 "lastModified": "2024-05-02T08:30:15Z", "location": f"{BASE}/Groups/g-1",
                 "version": 'W/"2"'},
    }  # fmt: skip
    for asked in (["members.value", "members.display"], [f"{GROUP}:MEMBERS.DISPLAY"]):
        shown = group_to_scim(group_record(members), BASE, asked)
        assert shown["members"][0]["display"] == "jane@example.com"
    assert "display" not in group_to_scim(group_record(members), BASE, ["members"])["members"][0]
    assert "members" not in group_to_scim(group_record(None), BASE)
    assert "members" not in group_to_scim(group_record(members), BASE, excluded=["members"])
    assert set(group_to_scim(group_record(members), BASE, ["displayName"])) == {
        "schemas", "id", "displayName"
    }  # fmt: skip


def test_list_response() -> None:
    assert list_response([], 0, 1) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    page = list_response([{"id": "a"}, {"id": "b"}], 250, 101)
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (250, 101, 2)


IF_MATCH = [
    (None, None),
    ("", None),
    ("*", None),
    ('W/"4"', {4}),
    ('"4"', {4}),
    ("4", {4}),
    (' w/"12" ', {12}),
    # RFC 7232 §3.1: every listed tag counts, not only the lowest.
    ('W/"7", W/"4"', {4, 7}),
    ('W/"1", W/"3"', {1, 3}),
    ('W/"x", W/"5"', {5}),
    ('W/"5", *', None),
]


@pytest.mark.parametrize(("header", "expected"), IF_MATCH)
def test_if_match_versions(header: Any, expected: Any) -> None:
    assert if_match_versions(header) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize("header", ['W/"abc"', "garbage", 'W/"-1"', '"' + "9" * 30 + '"', ","])
def test_unmatchable_if_match_is_412(header: str) -> None:
    with pytest.raises(ScimError) as caught:
        if_match_versions(header)
    assert caught.value.status == 412


def test_etag_round_trip() -> None:
    assert etag(4) == 'W/"4"'
    assert if_match_versions(etag(4)) == frozenset({4})
    assert if_match_versions('W/"1", "2"') == frozenset({1, 2})


def test_an_unassigned_active_is_omitted_and_stays_unassigned_through_a_patch() -> None:
    resource = user_to_scim(user_record(OKTA_CREATE, active=None), BASE)
    assert "active" not in resource
    assert user_input_from_scim(resource, mode="patch").active is None
