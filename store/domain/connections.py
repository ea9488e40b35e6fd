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
- ``clean_domains`` checks the userName domains an operator limits a connection to (ASCII
  host names, ``xn--`` for internationalised ones, ``*.corp.example`` for every subdomain);
  ``user_name_allowed`` / ``check_user_name`` is the rule its tokens' creations and renames
  obey (see ``user_name_domain``). No domains: any userName, as before domains existed.
- ``status`` is "no tokens", "stale" or "active", by the one staleness rule of tokens
  (``tokens.stale_since``) applied to the connection's most recent activity: a connection
  is as quiet as its least quiet active token.
"""

from __future__ import annotations

import re
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


# ---- allowed userName domains -------------------------------------------------------------

WILDCARD = "*."
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def clean_domains(value: object, attribute: str = "domains") -> tuple[str, ...]:
    """The domains a connection's userNames must be in, from "a.example,b.example" (or a
    list): each a host name of ASCII letters, digits and hyphens (labels of at most 63, at
    most 253 in all), lower-cased, or ``*.`` before one for its subdomains (not itself).
    Sorted, without repeats. A non-ASCII domain is refused: give its ``xn--`` form, which
    userNames written either way match (``user_name_domain``). InvalidInput when empty
    (no domains is ``None``, not an empty list) or when one is bad."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple):
        raise InvalidInput("domains are a comma-separated list, e.g. corp.example", attribute)
    found: set[str] = set()
    for part in parts:
        if not isinstance(part, str):
            raise InvalidInput("domains are a comma-separated list, e.g. corp.example", attribute)
        if part.strip():
            found.add(_clean_domain(part.strip(), attribute))
    if not found:
        raise InvalidInput("give at least one domain, e.g. corp.example", attribute)
    if len(found) > limits.CONNECTION_DOMAINS:
        raise InvalidInput(
            f"a connection has at most {limits.CONNECTION_DOMAINS} domains", attribute
        )
    return tuple(sorted(found))


def _clean_domain(text: str, attribute: str) -> str:
    shown = safe_text(text)[:80]
    if not text.isascii():
        raise InvalidInput(
            f"domain '{shown}' is not ASCII: give an internationalised domain in its "
            "xn-- (punycode) form",
            attribute,
        )
    domain = text.lower()
    host = domain[len(WILDCARD) :] if domain.startswith(WILDCARD) else domain
    if not _is_host(host):
        raise InvalidInput(
            f"domain '{shown}' is not a domain name: labels of letters, digits and hyphens "
            f"(at most {limits.DOMAIN_LABEL} each, {limits.DOMAIN} in all) joined by dots, "
            "optionally *. before it for every subdomain",
            attribute,
        )
    return domain


def _is_host(host: str) -> bool:
    if not host or len(host) > limits.DOMAIN:
        return False
    return all(
        len(label) <= limits.DOMAIN_LABEL and _LABEL.fullmatch(label) for label in host.split(".")
    )


def stored_domains(domains: tuple[str, ...] | None) -> str | None:
    """The column value of a connection's domains (None: any userName)."""
    return ",".join(domains) if domains else None


def domains_of(column: str | None) -> tuple[str, ...]:
    """A connection's domains from its column (empty: any userName)."""
    return tuple(d for d in (column or "").split(",") if d)


def user_name_domain(user_name: str) -> str | None:
    """The ASCII domain of a userName, as the rule compares it, or None when it has none.

    The userName is folded as its uniqueness key is (``names.fold``: NFKC, case-folded), so
    every userName that would collide with ``dana@corp.example`` has the domain
    ``corp.example``: full-width letters and "＠", upper case and the like cannot land outside
    the rule's view. It then needs exactly one "@" with something before it (a name with two
    is ambiguous about its domain, and refused), and a domain that is a host name once any
    non-ASCII label is converted to its ``xn--`` form (IDNA 2003, Python's ``idna`` codec,
    after the fold; a label that cannot be converted is no domain)."""
    key = fold(user_name)
    local, at, domain = key.partition("@")
    if not at or not local or "@" in domain:
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    return domain if _is_host(domain) else None


def user_name_allowed(user_name: str, domains: tuple[str, ...]) -> bool:
    """Whether a connection limited to ``domains`` may give a user this userName (no
    domains: any)."""
    if not domains:
        return True
    domain = user_name_domain(user_name)
    if domain is None:
        return False
    return any(
        domain.endswith("." + allowed[len(WILDCARD) :])
        if allowed.startswith(WILDCARD)
        else domain == allowed
        for allowed in domains
    )


def check_user_name(user_name: str, domains: tuple[str, ...], attribute: str = "userName") -> None:
    """InvalidInput naming the allowed domains when ``user_name_allowed`` says no."""
    if user_name_allowed(user_name, domains):
        return
    listed = ", ".join(f"@{d}" for d in domains)
    raise InvalidInput(
        f"userName must be in the domains this IdP connection may provision ({listed}): "
        "one '@' followed by one of them; ask the operator of this service to add a domain",
        attribute,
    )
