"""IdP connections: the names they go by, their kinds, and the status an operator reads.

Pure. A connection is one identity provider (an Okta tenant, an Entra ID app, JumpCloud...):
its tokens authenticate as it, and the users and groups it creates are its own.

- ``clean_name`` is the one check of a connection name an operator types: trimmed, NFC,
  not empty, at most ``MAX_NAME`` characters, and no character that would make it pass for
  another on screen (``names.deceiving_character``). ``name_key`` compares names as token
  names and userNames do (``names.fold``), so "Okta" and "OKTA" are one connection.
  ``clean_reference`` checks a name given to look a connection up by the same rule, up to
  the length of the longest name stored (an upgrade's).
- ``KINDS`` are the kinds a connection may declare (optional).
- ``status`` is "no tokens", "stale" or "active", by the one staleness rule of tokens
  (``tokens.stale_since``) applied to the connection's most recent activity: a connection
  is as quiet as its least quiet active token.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from store.domain import limits
from store.domain.display import safe_text
from store.domain.names import deceiving_character, describe_character, fold
from store.domain.tokens import stale_since
from store.errors import InvalidInput

MAX_NAME = limits.CONNECTION_NAME
MAX_NAME_KEY = 190
"""The longest folded name (``name_key``): a few characters of compatibility forms can fold
to many ("ﷺ" to 18), and the key column must hold the key, and the name of a rotated token
(``<connection>-N``, ``tokens.rotation_name``) must fold within a token name's limit."""
KINDS = ("okta", "entra", "jumpcloud", "other")
DEFAULT = "default"
"""The connection that owns what an upgraded database cannot attribute to a token."""

ACTIVE, STALE, NO_TOKENS = "active", "stale", "no tokens"


def clean_name(value: object, attribute: str = "name") -> str:
    """A connection name as stored (trimmed, NFC), or InvalidInput with one line."""
    name = _checked(value, attribute, MAX_NAME)
    if len(name) > MAX_NAME or len(name_key(name)) > MAX_NAME_KEY:
        raise InvalidInput(
            f"a connection name has at most {MAX_NAME} characters ({MAX_NAME_KEY} once folded "
            "for comparison)",
            attribute,
        )
    return name


def clean_reference(value: object, attribute: str = "connection") -> str:
    """A connection name given to look one up, by the rule of ``clean_name`` but for the
    length: a name as long as any stored one may be (``limits.TOKEN_NAME``). An upgrade named
    each connection after the 0.1.0 tokens it owns, whose names could be longer than a new
    connection's, and such a connection must still be named (to rename it, above all)."""
    return _checked(value, attribute, limits.TOKEN_NAME)


def _checked(value: object, attribute: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a connection needs a name, e.g. 'Okta'", attribute)
    name = unicodedata.normalize("NFC", value.strip())
    if len(name) > longest:
        raise InvalidInput(f"a connection name has at most {MAX_NAME} characters", attribute)
    char = deceiving_character(name)
    if char is not None:
        raise InvalidInput(
            f"a connection name cannot contain control or invisible formatting characters "
            f"({describe_character(char)})",
            attribute,
        )
    return name


def name_key(name: str) -> str:
    """The uniqueness and lookup key of a connection name."""
    return fold(name)


def clean_kind(value: object) -> str | None:
    """An optional kind: None, or one of ``KINDS`` (any case)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = value.strip().lower() if isinstance(value, str) else None
    if kind not in KINDS:
        shown = safe_text(str(value))[:40]
        raise InvalidInput(f"unknown connection kind '{shown}' (kinds: {', '.join(KINDS)})", "kind")
    return kind


def status(
    active_tokens: Iterable[tuple[datetime | None, datetime]],
    now: datetime,
    stale_after_hours: float,
) -> str:
    """The status of a connection from its active tokens' (Last Used, created) pairs:
    "no tokens" without one, "stale" when the most recent of them is quiet by the tokens'
    own rule (``tokens.stale_since``), else "active"."""
    quiet = [last_used or created for last_used, created in active_tokens]
    if not quiet:
        return NO_TOKENS
    if stale_since(max(quiet), now, stale_after_hours) is not None:
        return STALE
    return ACTIVE


def last_used(uses: Iterable[datetime | None]) -> datetime | None:
    """A connection's Last Used: the most recent of its tokens' (None: never used)."""
    found = [moment for moment in uses if moment is not None]
    return max(found) if found else None
