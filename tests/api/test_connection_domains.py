"""A connection limited to userName domains: its token cannot create a user, nor rename one,
to a userName outside them (400 invalidValue naming the domains, nothing written), so a
second IdP cannot claim the account of a person the main IdP has not provisioned yet.
Inside the domains, and for a connection without domains, everything is as before. Real app
and store, both backends."""

from __future__ import annotations

from typing import Any

import falcon
import pytest
from pony.orm import db_session

from store.context import Store
from store.services.connections import set_connection_domains
from store.services.tokens import issue_token
from tests.api.conftest import USER_URN, Scim, assert_scim_error, patch_op

OPERATOR = "operator:test"


@pytest.fixture
def partner(app: falcon.App, api_store: Store) -> Scim:
    """A second IdP whose connection may provision only partner.example and its
    internationalised bücher.example (given in its xn-- form)."""
    secret = issue_token(api_store, "Partner SCIM", OPERATOR).secret
    set_connection_domains(
        api_store, "Partner SCIM", "partner.example,xn--bcher-kva.example", OPERATOR
    )
    return Scim(app, secret)


@pytest.fixture
def corp_only(app: falcon.App, api_store: Store) -> Scim:
    """A second IdP limited to corp.example itself (no subdomain)."""
    secret = issue_token(api_store, "Corp SCIM", OPERATOR).secret
    set_connection_domains(api_store, "Corp SCIM", "corp.example", OPERATOR)
    return Scim(app, secret)


def _rows(store: Store, user_name: str) -> int:
    """Users stored under that exact userName, whichever connection owns them."""
    with db_session:
        return int(store.db.User.select(lambda u: u.user_name == user_name).count())


def _body(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_URN], "userName": user_name, "active": True, **extra}


def _refused(result: falcon.testing.Result, *domains: str) -> None:
    body = assert_scim_error(result, 400, "invalidValue")
    for domain in domains:
        assert f"@{domain}" in body["detail"], body["detail"]


def test_a_second_idp_cannot_claim_a_name_outside_its_domains_before_the_main_idp(
    scim: Scim, partner: Scim, api_store: Store
) -> None:
    _refused(partner.post("/Users", _body("dana@corp.example")), "partner.example")
    assert _rows(api_store, "dana@corp.example") == 0
    # the main IdP (no domains: any userName) then provisions the person as usual
    dana = scim.create_user("dana@corp.example")
    assert dana["userName"] == "dana@corp.example"
    # and the refusal comes before uniqueness: it tells nothing of who holds the name
    _refused(partner.post("/Users", _body("dana@corp.example")), "partner.example")
    assert _rows(api_store, "dana@corp.example") == 1


def test_inside_its_domains_the_second_idp_creates_users_as_before(
    partner: Scim, api_store: Store
) -> None:
    made = partner.create_user("ann@partner.example")
    assert made["userName"] == "ann@partner.example"
    loud = partner.create_user("BOB@PARTNER.EXAMPLE")  # domains compare case-insensitively
    assert loud["userName"] == "BOB@PARTNER.EXAMPLE"
    # an internationalised domain counts in its Unicode and its xn-- form alike
    assert partner.create_user("dana@bücher.example")["userName"] == "dana@bücher.example"
    assert partner.create_user("cfo@xn--bcher-kva.example")["userName"]
    assert partner.create_user("cto@BÜCHER.example")["userName"]
    assert _rows(api_store, "ann@partner.example") == 1


@pytest.mark.parametrize(
    "user_name",
    [
        "dana@corp.example.evil.test",  # evil.test's subdomain, not corp.example
        "dana@evil.test@corp.example",  # two '@': ambiguous, refused
        "dana@sub.corp.example",  # a subdomain needs *.corp.example
        "dana@corp.example.",  # trailing dot: not the same written name
        "dana@evilcorp.example",
        "corp.example",  # no '@' at all
        "@corp.example",  # nothing before the '@'
        "dana@corp.exаmple",  # Cyrillic 'а' (U+0430): another domain
        "dana@corp.example\u200b",  # an invisible character behind it
    ],
)
def test_look_alikes_of_the_allowed_domain_are_refused_and_nothing_is_written(
    corp_only: Scim, api_store: Store, user_name: str
) -> None:
    result = corp_only.post("/Users", _body(user_name))
    assert result.status_code == 400, result.text
    assert result.json.get("scimType") == "invalidValue", result.text
    assert _rows(api_store, user_name) == 0


@pytest.mark.parametrize(
    "user_name",
    [
        "dana@CORP.EXAMPLE",
        "dana@Corp.Example",
        "dana＠ｃｏｒｐ．ｅｘａｍｐｌｅ",  # full-width: the same folded name as dana@corp.example
    ],
)
def test_case_and_width_variants_of_the_allowed_domain_are_the_domain(
    corp_only: Scim, user_name: str
) -> None:
    assert corp_only.create_user(user_name)["userName"] == user_name


def test_a_name_folding_into_the_main_idps_domain_is_refused_to_another_idp(
    partner: Scim, api_store: Store
) -> None:
    for user_name in ("DANA@CORP.EXAMPLE", "dana＠ｃｏｒｐ.example", "dana@ｃｏｒｐ.example"):
        _refused(partner.post("/Users", _body(user_name)), "partner.example")
        assert _rows(api_store, user_name) == 0


def test_a_rename_out_of_the_domains_by_put_or_patch_changes_nothing(
    partner: Scim, api_store: Store
) -> None:
    user = partner.create_user("dana@partner.example", displayName="Dana")
    path, version = f"/Users/{user['id']}", user["meta"]["version"]
    put = _body("dana@corp.example", displayName="Renamed")
    _refused(partner.put(path, put), "partner.example", "xn--bcher-kva.example")
    with_path = patch_op(
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "replace", "path": "userName", "value": "dana@corp.example"},
    )
    _refused(partner.patch(path, with_path), "partner.example")
    without_path = patch_op({"op": "replace", "value": {"userName": "DANA@corp.example"}})
    _refused(partner.patch(path, without_path), "partner.example")
    after = partner.get(path).json
    assert (after["userName"], after["displayName"], after["meta"]["version"]) == (
        "dana@partner.example", "Dana", version,
    )  # fmt: skip
    assert _rows(api_store, "dana@corp.example") == _rows(api_store, "DANA@corp.example") == 0
    # within the domains a rename is as before
    inside = patch_op({"op": "replace", "path": "userName", "value": "dana.b@partner.example"})
    renamed = partner.patch(path, inside)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json["userName"] == "dana.b@partner.example"


def test_users_from_before_the_domains_keep_their_names_and_stay_manageable(
    app: falcon.App, api_store: Store
) -> None:
    secret = issue_token(api_store, "Late SCIM", OPERATOR).secret
    late = Scim(app, secret)
    old = late.create_user("old@other.example", displayName="Old")
    _, outside = set_connection_domains(api_store, "Late SCIM", "partner.example", OPERATOR)
    assert outside == 1
    path = f"/Users/{old['id']}"
    # the same userName (any case: the same key) is no rename: updates and deactivation work
    kept = late.put(path, _body("OLD@other.example", displayName="Still old"))
    assert kept.status_code == 200, kept.text
    off = late.patch(path, patch_op({"op": "replace", "path": "active", "value": False}))
    assert off.status_code == 200 and off.json["active"] is False, off.text
    elsewhere = patch_op({"op": "replace", "path": "userName", "value": "new@other.example"})
    _refused(late.patch(path, elsewhere), "partner.example")
    assert late.get(path).json["userName"] == "OLD@other.example"
    into = patch_op({"op": "replace", "path": "userName", "value": "old@partner.example"})
    assert late.patch(path, into).status_code == 200


def test_without_domains_a_connection_takes_any_user_name(
    scim: Scim, app: falcon.App, api_store: Store
) -> None:
    scim.create_user("anyone@anywhere.example")
    scim.create_user("no-domain-at-all")
    secret = issue_token(api_store, "Cleared SCIM", OPERATOR).secret
    set_connection_domains(api_store, "Cleared SCIM", "partner.example", OPERATOR)
    set_connection_domains(api_store, "Cleared SCIM", None, OPERATOR)
    Scim(app, secret).create_user("dana@elsewhere.example")
