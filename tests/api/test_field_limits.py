"""One source for every length limit (``store.domain.limits``): ``/ServiceProviderConfig``
advertises exactly its values, the API refuses a value one past each (400 invalidValue, nothing
stored) and takes one at the limit, and the store does the same for callers other than the API
(InvalidInput). On SQLite and PostgreSQL, so the column sizes are the module's too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pony.orm import db_session

from api.scim.errors import ScimError
from api.scim.group_patch import plan_group_patch
from api.scim.limits import FIELD_LENGTHS, LIMITS_ATTRIBUTES
from api.scim.mapping import group_input_from_scim, user_input_from_scim
from api.scim.patch_ops import parse_patch_request
from store.config import ApiSettings
from store.context import Store
from store.domain import limits
from store.errors import InvalidInput
from store.records import EmailInput, GroupInput, UserInput
from store.services.groups import create_group
from store.services.roles import create_role, set_mapping
from store.services.users import create_user
from tests.api.conftest import USER_URN, Scim, assert_scim_error, patch_op

LIMITS_URN = "urn:tridentstack:params:scim:schemas:extension:limits:2.0:ServiceProviderConfig"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADVERTISED = {
    "maxIdLength": limits.ID,
    "maxUserNameLength": limits.USER_NAME,
    "maxExternalIdLength": limits.EXTERNAL_ID,
    "maxDisplayNameLength": limits.DISPLAY_NAME,
    "maxNamePartLength": limits.NAME_PART,
    "maxEmailLength": limits.EMAIL,
    "maxEmailTypeLength": limits.EMAIL_TYPE,
    "maxStringLength": limits.STRING,
    "maxPathLength": limits.PATH_LENGTH,
    "maxFilterDepth": limits.FILTER_DEPTH,
    "maxFilterComparisons": limits.FILTER_COMPARISONS,
    "maxFilterLength": limits.FILTER_LENGTH,
}


def test_service_provider_config_advertises_the_module(scim: Scim) -> None:
    answer = scim.get(f"/ServiceProviderConfig?attributes={LIMITS_URN}")
    assert answer.status_code == 200, answer.text
    extension = answer.json[LIMITS_URN]
    assert {k: extension[k] for k in ADVERTISED} == ADVERTISED
    assert ApiSettings().max_filter_length == limits.FILTER_LENGTH
    schema = scim.get(f"/Schemas/{LIMITS_URN}").json
    described = {a["name"] for a in schema["attributes"]}
    assert described == set(extension) == {a.name for a in LIMITS_ATTRIBUTES}
    assert {name for name, _, _ in FIELD_LENGTHS} <= described


def _user(field: str, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER_URN], "userName": "limits@example.com"}
    email = {"value": "limits@example.com", "type": "work"}
    if field in ("givenName", "familyName"):
        body["name"] = {field: text}
    elif field.startswith("emails."):
        email[field.partition(".")[2]] = text
    else:
        body[field] = text
    body["emails"] = [email]
    return body


USER_FIELDS = {
    "userName": limits.USER_NAME,
    "externalId": limits.EXTERNAL_ID,
    "displayName": limits.DISPLAY_NAME,
    "givenName": limits.NAME_PART,
    "familyName": limits.NAME_PART,
    "emails.value": limits.EMAIL,
    "emails.type": limits.EMAIL_TYPE,
    "title": limits.STRING,
}


@pytest.mark.parametrize(("field", "limit"), USER_FIELDS.items())
def test_the_api_refuses_a_user_field_at_exactly_limit_plus_one(
    scim: Scim, field: str, limit: int
) -> None:
    with pytest.raises(ScimError) as caught:  # the API's own check, before the store's
        user_input_from_scim(_user(field, "x" * (limit + 1)))
    assert caught.value.scim_type == "invalidValue" and str(limit) in caught.value.detail
    user_input_from_scim(_user(field, "x" * limit))
    assert_scim_error(scim.post("/Users", _user(field, "x" * (limit + 1))), 400, "invalidValue")
    assert scim.get("/Users").json["totalResults"] == 0
    created = scim.post("/Users", _user(field, "x" * limit))
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(("field", "limit"), [("displayName", limits.DISPLAY_NAME),
                                              ("externalId", limits.EXTERNAL_ID)])  # fmt: skip
def test_the_api_refuses_a_group_field_at_exactly_limit_plus_one(
    scim: Scim, field: str, limit: int
) -> None:
    def body(text: str) -> dict[str, Any]:
        return {"schemas": [GROUP_URN], "displayName": "g", field: text}

    with pytest.raises(ScimError):  # the API's own check, before the store's
        group_input_from_scim(body("x" * (limit + 1)))
    group_input_from_scim(body("x" * limit))
    assert_scim_error(scim.post("/Groups", body("x" * (limit + 1))), 400, "invalidValue")
    created = scim.post("/Groups", body("x" * limit))
    assert created.status_code == 201, created.text
    replace = patch_op({"op": "replace", "path": field, "value": "y" * (limit + 1)})
    with pytest.raises(ScimError):
        plan_group_patch(created.json, parse_patch_request(replace, 10))
    assert_scim_error(scim.patch(f"/Groups/{created.json['id']}", replace), 400, "invalidValue")


def test_the_api_refuses_a_path_and_an_id_one_past_the_limit(scim: Scim) -> None:
    user = scim.post("/Users", _user("title", "t")).json
    long_path = "title" + " " * (limits.PATH_LENGTH - 4)
    refused = scim.patch(f"/Users/{user['id']}", patch_op({"op": "remove", "path": long_path}))
    assert_scim_error(refused, 400, "invalidPath")
    assert_scim_error(scim.get("/Users/" + "a" * (limits.ID + 1)), 404)


def _user_input(**fields: Any) -> UserInput:
    name = fields.pop("user_name", "store@example.com")
    return UserInput(user_name=name, document={"schemas": [USER_URN]}, **fields)


STORE_USER_FIELDS: dict[str, tuple[int, Callable[[str], UserInput]]] = {
    "userName": (limits.USER_NAME, lambda t: _user_input(user_name=t)),
    "externalId": (limits.EXTERNAL_ID, lambda t: _user_input(external_id=t)),
    "displayName": (limits.DISPLAY_NAME, lambda t: _user_input(display_name=t)),
    "givenName": (limits.NAME_PART, lambda t: _user_input(given_name=t)),
    "familyName": (limits.NAME_PART, lambda t: _user_input(family_name=t)),
    "emails.value": (limits.EMAIL, lambda t: _user_input(emails=(EmailInput(t),))),
    "emails.type": (limits.EMAIL_TYPE, lambda t: _user_input(emails=(EmailInput("e", t),))),
}


@pytest.mark.parametrize("field", STORE_USER_FIELDS)
def test_the_store_refuses_a_user_field_at_exactly_limit_plus_one(store: Store, field: str) -> None:
    limit, build = STORE_USER_FIELDS[field]
    with pytest.raises(InvalidInput):
        create_user(store, build("x" * (limit + 1)), "operator")
    with db_session:
        assert store.db.User.select().count() == 0
    create_user(store, build("x" * limit), "operator")  # the column holds it


def test_the_store_refuses_group_and_mapping_names_at_exactly_limit_plus_one(
    store: Store,
) -> None:
    for text in ("x" * (limits.DISPLAY_NAME + 1),):
        with pytest.raises(InvalidInput):
            create_group(store, GroupInput(text, {}), (), "operator")
        with pytest.raises(InvalidInput):
            create_group(store, GroupInput("g", {}, "e" * (limits.EXTERNAL_ID + 1)), (), "op")
    create_group(
        store, GroupInput("x" * limits.DISPLAY_NAME, {}, "e" * limits.EXTERNAL_ID), (), "op"
    )
    create_role(store, "r" * limits.ROLE_NAME, "d" * limits.ROLE_DESCRIPTION, "operator")
    with pytest.raises(InvalidInput):
        create_role(store, "s" * (limits.ROLE_NAME + 1), "", "operator")
    with pytest.raises(InvalidInput):
        create_role(store, "s", "d" * (limits.ROLE_DESCRIPTION + 1), "operator")
    with pytest.raises(InvalidInput):
        set_mapping(store, "g" * (limits.DISPLAY_NAME + 1), "r" * limits.ROLE_NAME, "operator")
    set_mapping(store, "g" * limits.DISPLAY_NAME, "r" * limits.ROLE_NAME, "operator")
