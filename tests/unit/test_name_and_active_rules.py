"""The pure rules for names (``store.domain.names``) and for ``active``
(``store.domain.active``), as tables."""

from __future__ import annotations

import unicodedata

import pytest

from store.domain.active import describe, has_access, resolve, stored_state, with_state
from store.domain.names import deceiving_character, describe_character, fold, group_key

SAME_GROUP = [("ADMINS", "admins"), ("Finance ", "Finance"), ("\u00a0Ops\u3000", "ops"),
              ("Café", "Cafe\u0301"), ("STRAẞE", "straße"), ("ΟΔΟΣ", "οδος")]  # fmt: skip
OTHER_GROUP = [("Ａdmins", "Admins"), ("Straße", "Strasse"), ("ﬁnance", "finance"),
               ("Ⅻ", "XII"), ("admins", "admins2")]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), SAME_GROUP)
def test_group_key_matches_trimmed_nfc_case_insensitively(a: str, b: str) -> None:
    assert group_key(a) == group_key(b)
    assert group_key(a) == group_key(group_key(a))  # idempotent


@pytest.mark.parametrize(("a", "b"), OTHER_GROUP)
def test_group_key_does_no_compatibility_folding(a: str, b: str) -> None:
    assert group_key(a) != group_key(b)


@pytest.mark.parametrize(("a", "b"), SAME_GROUP + OTHER_GROUP[:-1])
def test_names_one_group_key_shares_were_one_fold_key(a: str, b: str) -> None:
    """So moving stored keys from fold to group_key can never make two groups collide."""
    if group_key(a) == group_key(b):
        assert fold(a.strip()) == fold(b.strip())


@pytest.mark.parametrize(
    "char",
    ["\x00", "\t", "\n", "\x1b", "\x7f", "\x85", "\u200b", "\u200c", "\u200d", "\u2060",
     "\ufeff", "\u00ad", "\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c",
     "\U000e0041", "\u2028", "\u2029"],
)  # fmt: skip
def test_deceiving_characters(char: str) -> None:
    assert deceiving_character(f"a{char}b") == char
    assert describe_character(char).startswith(f"U+{ord(char):04X}")


@pytest.mark.parametrize(
    "name", ["jane@example.com", "Zoë", "José\u0301", "山田 太郎", "محمد", "a b", "Ｊane", "🙂"]
)
def test_ordinary_names_hold_no_deceiving_character(name: str) -> None:
    assert deceiving_character(name) is None


def test_every_format_character_is_deceiving() -> None:
    formats = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    assert formats and all(deceiving_character(c) == c for c in formats)


@pytest.mark.parametrize(
    ("sent", "current", "write", "left"),
    [(None, None, "create", True), (False, None, "create", False),
     (None, False, "replace", False), (None, None, "replace", None), (None, True, "replace", True),
     (True, None, "replace", True), (None, True, "patch", None), (False, True, "patch", False),
     (True, None, "patch", True)],
)  # fmt: skip
def test_what_a_write_without_active_leaves(
    sent: bool | None, current: bool | None, write: str, left: bool | None
) -> None:
    assert resolve(sent, current, write) is left


def test_only_true_grants_access_and_the_mark_round_trips() -> None:
    assert [has_access(s) for s in (True, False, None)] == [True, False, False]
    for state in (True, False, None):
        document = with_state({"title": "x", "active": None}, state)
        assert document["title"] == "x"
        assert stored_state(state is True, document) is state
    assert describe(None) == "unassigned" and describe(False) == "inactive"
    with pytest.raises(ValueError):
        resolve(None, True, "upsert")
