"""A SCIM filter within every length and term limit but too costly for the database is
stopped by the database at ``[limits] query_budget_ms`` and refused with 400 invalidFilter
("too costly"); the same filter under a roomy budget answers, and the connection stays
usable afterwards."""

from __future__ import annotations

from dataclasses import replace

from pony.orm import db_session

from api.app import create_app
from api.scim.mapping import user_input_from_scim
from store.config import LimitSettings
from store.context import Store
from store.services.users import create_user
from tests.api.conftest import Scim, assert_scim_error, roomy
from tests.bench.seed import okta_user
from tests.support import default_token

USERS = 1_500
TERMS = 150


def _seed(store: Store) -> None:
    with db_session:
        for n in range(USERS):
            create_user(store, user_input_from_scim(okta_user(n)), "operator:test")


def _scim(store: Store, budget_ms: int) -> Scim:
    budgeted = replace(store, settings=replace(store.settings, limits=LimitSettings(budget_ms)))
    secret = default_token(budgeted, f"IdP {budget_ms}", rate_limit=1_000_000).secret
    return Scim(create_app(budgeted), secret)


COSTLY = " or ".join(f'emails co "zq{n}"' for n in range(TERMS))


def test_a_filter_past_the_budget_is_refused_as_too_costly(store: Store) -> None:
    api_store = roomy(store)
    _seed(api_store)
    tight = _scim(api_store, budget_ms=2)
    refused = tight.get("/Users", params={"filter": COSTLY, "count": "10"})
    body = assert_scim_error(refused, 400, "invalidFilter")
    assert "too costly" in body["detail"]
    # This thread's connection is usable at once (falcon.testing runs in this thread).
    roomy_budget = _scim(api_store, budget_ms=120_000)
    cheap = roomy_budget.get("/Users", params={"filter": 'userName eq "user000001@example.com"'})
    assert cheap.status_code == 200 and cheap.json["totalResults"] == 1, cheap.text
    # The same costly filter within a roomy budget is answered (nothing matches).
    answered = roomy_budget.get("/Users", params={"filter": COSTLY, "count": "10"})
    assert answered.status_code == 200 and answered.json["totalResults"] == 0
    assert answered.json["Resources"] == []
