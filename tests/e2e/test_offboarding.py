"""The product guide's deactivation story, step by step, for every IdP dialect, against the
real server on SQLite and PostgreSQL: "Disable a user in your IdP, they lose Control access
immediately" — sessions end at once, IdP-mapped roles go, manual roles, memberships and the
audit history stay; reactivation brings the IdP roles back from the kept memberships."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e import offboarding_support
from tests.e2e.conftest import LiveServer
from tests.e2e.offboarding_support import (
    DIALECTS,
    MAPPED_OPERATOR,
    VIEWER_MANUAL,
    Dialect,
    Idp,
    Operator,
    events,
    roles_of,
    signed_in,
    signed_out,
)

idp, operator = offboarding_support.idp, offboarding_support.operator  # fixtures

# Each IdP pushes the mapped group under its own spelling: the mapping matches any case.
PUSHED_AS = {"okta": "Engineering", "entra": "engineering", "entra-aadOptscim062020":
             "ENGINEERING", "jumpcloud": "Engineering"}  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS.values(), ids=DIALECTS.keys())
def test_deactivation_story(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator, dialect: Dialect
) -> None:
    provider = idp(dialect)
    name = f"jane.{dialect.name}@example.com"

    # Before: provisioned into a mapped group, a manual grant, signed in to Control.
    operator.map("Engineering", "operator")
    jane = provider.create_user(name, f"ext-{dialect.name}-1")
    group_id = provider.push_group(PUSHED_AS[dialect.name], jane["id"])
    operator.grant(name, "viewer")
    cookie = operator.start_session(name)
    assert signed_in(live, cookie, name) == ["operator", "viewer"]
    assert roles_of(operator.show(name)) == {MAPPED_OPERATOR, VIEWER_MANUAL}

    # The IdP deactivates: the very next request of that browser goes back to sign in.
    provider.set_active(jane["id"], False)
    assert signed_out(live, cookie)["error"] == "session ended"
    shown = operator.show(name)
    assert shown["active"] is False and shown["active_sessions"] == 0
    assert roles_of(shown) == {VIEWER_MANUAL}  # IdP role gone, manual role kept
    assert shown["groups"] == [PUSHED_AS[dialect.name]]  # membership kept
    assert provider.members(group_id) == {jane["id"]}
    [deactivated] = events(shown, "user.deactivated")
    assert deactivated["actor"] == provider.actor and "1 session(s) ended" in deactivated["detail"]
    granted = events(shown, "role.granted")
    assert granted and granted[0]["actor"].startswith("operator:")  # earlier history kept
    [found] = provider.find(name.upper())  # never hidden from the IdP's lookup
    assert found["id"] == jane["id"] and found["active"] is False
    assert "inactive" in operator.run("session", "start", name, expect=2)  # cannot sign in

    # The IdP reactivates (Entra does not re-send memberships, so nobody here does).
    provider.set_active(jane["id"], True)
    shown = operator.show(name)
    assert shown["active"] is True
    assert roles_of(shown) == {MAPPED_OPERATOR, VIEWER_MANUAL}
    assert events(shown, "user.reactivated")[0]["actor"] == provider.actor
    signed_out(live, cookie)  # the old session stays ended
    fresh = operator.start_session(name)
    assert fresh != cookie
    assert signed_in(live, fresh, name) == ["operator", "viewer"]
    assert operator.show(name)["active_sessions"] == 1
