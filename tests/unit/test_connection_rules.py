"""The pure rules of IdP connections: names, kinds, and the status an operator reads, which
applies the one staleness rule of tokens (``domain.tokens.stale_since``) to the connection's
most recent activity, so a connection is stale exactly when every active token is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.domain import connections as rules
from store.domain.scope import OPERATOR, Scope
from store.domain.tokens import stale_since
from store.errors import InvalidInput

NOW = datetime(2026, 3, 1, 12, 0)
moments = st.integers(min_value=0, max_value=96 * 60).map(lambda m: NOW - timedelta(minutes=m))


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (" Okta ", "Okta"),
        ("Entre\u0301e", "Entr\u00e9e"),
        ("J" * 64, "J" * 64),
        ("東京 IdP", "東京 IdP"),
    ],
)
def test_good_names_are_trimmed_and_nfc(raw: str, stored: str) -> None:
    assert rules.clean_name(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "  ", None, 7, "J" * 65, "a\tb", "a\x00b", "a\u202eb", "a\u200bb", "a\u2028b"]
)
def test_bad_names_are_one_line_invalid_input(raw: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.clean_name(raw)
    assert caught.value.message and "\n" not in caught.value.message
    assert "\u202e" not in caught.value.message  # never echoes the character it names


def test_keys_fold_like_token_names_and_kinds_are_a_closed_list() -> None:
    assert rules.name_key("STRASSE") == rules.name_key("Straße") == "strasse"
    assert rules.clean_kind(None) is None and rules.clean_kind(" ") is None
    assert rules.clean_kind("Entra") == "entra"
    with pytest.raises(InvalidInput, match="okta, entra, jumpcloud, other"):
        rules.clean_kind("google\x1b[2J")


@given(
    tokens=st.lists(st.tuples(st.none() | moments, moments), max_size=4),
    hours=st.sampled_from([0.0, 1.0, 24.0, 48.0]),
)
def test_status_is_stale_exactly_when_every_active_token_is(
    tokens: list[tuple[datetime | None, datetime]], hours: float
) -> None:
    status = rules.status(tokens, NOW, hours)
    if not tokens:
        assert status == rules.NO_TOKENS
        return
    each = [stale_since(used or created, NOW, hours) is not None for used, created in tokens]
    assert status == (rules.STALE if all(each) else rules.ACTIVE)


def test_last_used_is_the_newest_of_the_tokens() -> None:
    early, late = NOW - timedelta(hours=2), NOW - timedelta(minutes=1)
    assert rules.last_used([None, early, late, None]) == late
    assert rules.last_used([None]) is None


def test_the_operator_scope_sees_all_and_a_token_scope_its_own() -> None:
    assert OPERATOR.sees(1) and OPERATOR.sees(2) and OPERATOR.operator
    assert Scope(1).sees(1) and not Scope(1).sees(2) and not Scope(1).operator
