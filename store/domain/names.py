"""The rules for names: how they compare, and which characters no name may hold.

Pure. Three rules, each used everywhere its kind of name is stored or compared:

- ``fold`` is the uniqueness and matching key of userNames, user displayNames, emails and token
  names: NFKC then casefold, so "Straße" and "STRASSE", "Ä" and "ä", or a fullwidth "ｂob" and
  "bob" are one name. For userNames this folds more than RFC 8265's UsernameCaseMapped profile
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
"""

from __future__ import annotations

import unicodedata

_DECEIVING_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def trim(value: str) -> str:
    """A group name as stored and compared: without leading or trailing white space."""
    return value.strip()


def group_key(value: str) -> str:
    """The key two group names share when they are the same name (see the module docstring).
    ``str.lower`` keeps ß distinct from ss, unlike ``casefold``."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", trim(value)).lower())


def deceiving_character(value: str) -> str | None:
    """The first control or invisible formatting character of ``value``, or None."""
    for char in value:
        if unicodedata.category(char) in _DECEIVING_CATEGORIES:
            return char
    return None


def describe_character(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: a character named without printing it."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()
