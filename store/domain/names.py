"""The rules for names: how they compare, and which characters no name may hold.

Pure. Three rules, each used everywhere its kind of name is stored or compared:

- ``fold`` is the uniqueness and matching key of userNames, user displayNames, name parts,
  emails and token names: NFKC then casefold, trimmed, so "Straße" and "STRASSE", "Ä" and "ä",
  a fullwidth "ｂob" and "bob", or " Bob " and "bob" are one name. It is the one folding of
  both filter evaluators, the SQL compiler's key columns and the in-memory matcher of PATCH
  value filters, so the two never disagree. (Stored keys were always trimmed: Pony strips
  ``str`` columns.) For userNames this folds more than RFC 8265's UsernameCaseMapped profile
  (width mapping, lower case, NFC), which only makes the uniqueness check refuse more.
- ``group_key`` is the key of group displayNames and of the IdP group names in the SSO
  group-to-role mapping: trimmed, NFC, lower case. It deliberately does no compatibility
  folding, so a look-alike group never receives another group's roles: fullwidth "Ａdmins" is
  not "Admins", "Straße" is not "Strasse", the ligature "ﬁnance" is not "finance"; "ADMINS" and
  "admins", "Finance " and "Finance", a precomposed and a decomposed "é" are the same name.
- ``deceiving_character`` finds what makes a name look like another on screen: control
  characters (C0, C1, DEL; tabs and line breaks included), invisible formatting characters
  (Unicode category Cf: zero-width space, joiner and non-joiner, word joiner, BOM, soft hyphen,
  bidi embeddings, overrides, isolates and marks, tags...) and the line and paragraph
  separators. RFC 8264 (PRECIS) disallows all of them in identifiers and free-form names.
  It also finds the invisible letters, marks and symbols a terminal draws as nothing (Hangul
  fillers, the combining grapheme joiner, the blank braille pattern, a variation selector
  that is not part of an emoji), by the terminal sanitiser's own rule
  (``store.domain.display.hidden_filler``): "victim\u3164@example.com" is not a new name.

``closest_names`` offers the known names nearest to a mistyped one, under one of these keys.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Iterable

from store.domain.display import hidden_filler

_DECEIVING_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold()).strip()


def trim(value: str) -> str:
    """A group name as stored and compared: without leading or trailing white space."""
    return value.strip()


def group_key(value: str) -> str:
    """The key two group names share when they are the same name (see the module docstring).
    ``str.lower`` keeps ß distinct from ss, unlike ``casefold``."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", trim(value)).lower())


def deceiving_character(value: str) -> str | None:
    """The first control, invisible formatting or invisible filler character of ``value``,
    or None."""
    for index, char in enumerate(value):
        if unicodedata.category(char) in _DECEIVING_CATEGORIES or hidden_filler(value, index):
            return char
    return None


def describe_character(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: a character named without printing it."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def closest_names(
    name: str, known: Iterable[str], key: Callable[[str], str] = fold, count: int = 3
) -> list[str]:
    """Up to ``count`` of ``known`` that look most like ``name`` (a typo such as
    "Enginering" finds "Engineering"), compared through ``key`` (``group_key`` for group
    names); [] when ``name`` is one of them or nothing is close. ``known`` is returned as
    given, best match first."""
    by_key: dict[str, str] = {}
    for candidate in known:
        by_key.setdefault(key(candidate), candidate)
    wanted = key(name.strip())
    if not wanted or wanted in by_key:
        return []
    matches = difflib.get_close_matches(wanted, list(by_key), n=count, cutoff=0.6)
    return [by_key[k] for k in matches]
