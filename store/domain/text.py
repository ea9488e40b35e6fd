"""Which text the databases can hold: the one rule every write, filter and log line follows.

PostgreSQL refuses NUL in text and jsonb, and a lone surrogate (U+D800 to U+DFFF, which JSON's
``\\ud800`` escape can produce) is not UTF-8, so neither backend can store it. Input carrying
either is refused (``text_problem``: SCIM 400, CLI exit 2); text the service records about a
request, which must never be refused, has them replaced (``storable``). Pure.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"


def is_forbidden(char: str) -> bool:
    """Whether one code point cannot be stored: NUL or a lone surrogate."""
    return char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, as the end of a sentence about it, or None when it can."""
    if value.isascii():
        return "contains a NUL character" if "\x00" in value else None
    for char in value:
        if char == "\x00":
            return "contains a NUL character"
        if is_forbidden(char):
            return "contains an unpaired surrogate"
    return None


def storable(value: str) -> str:
    """``value`` with every code point no database holds replaced by U+FFFD."""
    if "\x00" not in value and value.isascii():
        return value
    return "".join(REPLACEMENT if is_forbidden(char) else char for char in value)
