"""SCIM bearer tokens and session ids: generation shape, hashing and constant-time checks;
the names tokens go by.

A token is ``tscim_`` + 43 url-safe characters (256 random bits), so secret scanners can
recognise a leaked one. Only its SHA-256 is stored; lookups go by hash and the final
comparison is constant time. The random bytes are passed in by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Container, Iterable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from store.domain.display import safe_text
from store.domain.names import deceiving_character, describe_character, fold
from store.errors import InvalidInput

TOKEN_PREFIX = "tscim_"  # noqa: S105  (a public marker for secret scanners)
SESSION_PREFIX = "tcs_"
SECRET_BYTES = 32
DISPLAY_PREFIX_CHARS = 10  # "tscim_" + 4 characters of the secret: enough to tell tokens apart
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
MAX_NAME = 128
MAX_NAME_KEY = 200  # leaves room in name_key (256) for the "#revoked#<id>" suffix


def encode_secret(prefix: str, random_bytes: bytes) -> str:
    if len(random_bytes) < SECRET_BYTES:
        raise ValueError("a secret needs at least 32 random bytes")
    return prefix + base64.urlsafe_b64encode(random_bytes).rstrip(b"=").decode("ascii")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The part of a token that may be shown and logged (never enough to use it)."""
    return secret[:DISPLAY_PREFIX_CHARS]


def looks_like_secret(value: str) -> bool:
    """Cheap shape check before any database work (rejects junk and oversized values)."""
    return bool(_TOKEN_RE.match(value))


def hashes_match(stored_hash: str, presented_secret: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_secret(presented_secret))


def refused_token_label(reason: str, token_name: str | None, secret: str) -> str:
    """How the request log names the token of a refused request: never the secret, at most
    its display prefix (as logged for the operator already). "" when there was none."""
    if token_name:
        return f"revoked {token_name}" if reason == "revoked" else token_name
    if secret and reason != "malformed" and looks_like_secret(secret):
        return f"unknown {display_prefix(secret)}…"
    return {"missing": "(no token)", "malformed": "(malformed)"}.get(reason, "")


def stale_since(quiet_since: datetime, now: datetime, stale_after_hours: float) -> datetime | None:
    """The one staleness rule of SCIM tokens: a token whose IdP has sent nothing (its Last
    Used, or its creation when never used: ``quiet_since``) for longer than
    ``[worker] stale_after_hours`` is stale from the moment that time ran out; None while
    it is not (and always when the check is off, 0 hours)."""
    threshold = timedelta(hours=stale_after_hours)
    if stale_after_hours > 0 and now - quiet_since > threshold:
        return quiet_since + threshold
    return None


def clean_name(value: object) -> tuple[str, str]:
    """A token name as stored (trimmed) and its key (``names.fold``: names compare as
    userNames do), or InvalidInput with one line. No control or invisible formatting
    character: the one rule of connection names, group names and userNames."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a token needs a name, e.g. 'Okta SCIM'", "name")
    name = value.strip()
    key = fold(name)
    if len(name) > MAX_NAME or len(key) > MAX_NAME_KEY:
        raise InvalidInput(
            f"a token name has at most {MAX_NAME} characters ({MAX_NAME_KEY} once folded "
            "for comparison)",
            "name",
        )
    char = deceiving_character(name)
    if char is not None:
        raise InvalidInput(
            f"a token name cannot contain control or invisible formatting characters "
            f"({describe_character(char)})",
            "name",
        )
    return name, key


def rotation_name(connection: str, taken: Container[str]) -> tuple[str, str]:
    """The name of a rotated token of ``connection`` and its key: ``<connection>-2``, or the
    next number whose folded name is not in ``taken``. InvalidInput, saying what to do, when
    that name is longer than a token name may be (a connection name an upgrade took from a
    long token name, or one that folds longer)."""
    number = 2
    while fold(f"{connection}-{number}") in taken:
        number += 1
    name = f"{connection}-{number}"
    if len(name.strip()) > MAX_NAME or len(fold(name)) > MAX_NAME_KEY:
        shown = safe_text(connection)
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        raise InvalidInput(
            f"a rotated token is named after its connection, and '{shown}-{number}' would be "
            f"longer than a token name may be ({MAX_NAME} characters, {MAX_NAME_KEY} once "
            "folded for comparison): rename the connection (trident-scim connection rename), "
            "or issue the new token under a name of your choice (trident-scim token create "
            "NAME --connection CONNECTION); nothing was changed",
            "name",
        )
    return clean_name(name)


class _Issued(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def created(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...


T = TypeVar("T", bound=_Issued)


def rotation_target(tokens: Iterable[T]) -> T | None:
    """The token a rotation of a connection replaces: its newest token still in force (the
    latest issued wins a tie of creation times); None when every token is revoked."""
    active = [t for t in tokens if t.revoked_at is None]
    return max(active, key=lambda t: (t.created, t.id)) if active else None


def parse_rate_limit(text: str) -> int | None:
    """A token's rate limit as an operator types it: a whole number of requests per minute,
    or "default" (None: the global limit). The number's range is the store's to check."""
    raw = text.strip().lower()
    if raw == "default":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(
            "the rate limit is a number of requests per minute, or 'default'", "rate_limit"
        ) from None
