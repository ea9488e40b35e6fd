"""The rules the console and the commands once decided on their own, now one each in the
domain: which operator actions apply to a user, which roles an operator can grant or revoke,
which token a rotation replaces, how a rate limit is typed and how a mapping row names its
connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from store.domain.active import can_deactivate, can_reactivate
from store.domain.roles import grantable_roles, mapping_connection_label, revocable_roles
from store.domain.tokens import parse_rate_limit, rotation_target
from store.errors import InvalidInput


@pytest.mark.parametrize(
    ("state", "held", "deactivate", "reactivate"),
    [
        (True, False, True, False),  # active: only deactivation changes anything
        (False, False, True, True),  # the IdP deactivated them: a hold may still be placed
        (None, False, True, True),  # unassigned: no access, no hold yet
        (False, True, False, True),  # deactivated and held: only reactivation applies
        (None, True, False, True),
    ],
)
def test_which_lifecycle_actions_apply(
    state: bool | None, held: bool, deactivate: bool, reactivate: bool
) -> None:
    assert can_deactivate(state, held) is deactivate
    assert can_reactivate(state, held) is reactivate


def test_operators_revoke_their_own_grants_and_grant_what_is_not_manual_yet() -> None:
    grants = [
        ("viewer", "idp"),
        ("admin", "manual"),
        ("operator", "suspended"),
        ("admin", "idp"),
    ]
    assert revocable_roles(grants) == ["admin", "operator"]
    assert grantable_roles(["admin", "operator", "viewer"], grants) == ["operator", "viewer"]
    assert revocable_roles([("viewer", "idp")]) == []


@dataclass(frozen=True)
class Token:
    id: int
    created: datetime
    revoked_at: datetime | None = None


def test_a_rotation_replaces_the_newest_token_in_force() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    old, newer, revoked = Token(1, t), Token(2, t), Token(3, t.replace(hour=5), t)
    assert rotation_target([old, newer, revoked]) is newer  # same time: the latest issued
    assert rotation_target([revoked]) is None and rotation_target([]) is None


def test_a_rate_limit_is_a_number_or_default() -> None:
    assert parse_rate_limit(" 120 ") == 120 and parse_rate_limit("Default") is None
    with pytest.raises(InvalidInput, match="a number of requests per minute, or 'default'"):
        parse_rate_limit("lots")


def test_a_mapping_row_names_its_connection_or_any() -> None:
    assert mapping_connection_label(None) == "any"
    assert mapping_connection_label("Okta") == "Okta"
