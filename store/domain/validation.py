"""Checks on the text and JSON a write stores, so bad input is a clear InvalidInput.

Without them a NUL character, a lone surrogate, a NaN or an over-long name would surface as a
database error (PostgreSQL rejects NUL and NaN in text and jsonb) or a Pony ValueError: a 500
instead of a 400. ``check_name`` adds the rule for names people read (``names.
deceiving_character``). Product rules (uniqueness, lifecycle) do not belong here.
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

from store.domain import limits
from store.domain.names import deceiving_character, describe_character, group_key, trim
from store.domain.text import text_problem
from store.errors import InvalidInput


@overload
def check_text(
    value: str, attribute: str, limit: int, required: bool = False, allow_empty: bool = True
) -> str: ...
@overload
def check_text(
    value: object, attribute: str, limit: int, required: Literal[True], allow_empty: bool = True
) -> str: ...
@overload
def check_text(
    value: object, attribute: str, limit: int, required: bool = False, allow_empty: bool = True
) -> str | None: ...
def check_text(
    value: object,
    attribute: str,
    limit: int,
    required: bool = False,
    allow_empty: bool = True,
) -> str | None:
    """``value`` if it can be stored in a column of ``limit`` characters; None passes unless
    ``required``. Empty text fails when ``required`` or not ``allow_empty``."""
    if value is None:
        if required:
            raise InvalidInput(f"{attribute} is required", attribute=attribute)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{attribute} must be a string", attribute=attribute)
    if (required or not allow_empty) and not value.strip():
        raise InvalidInput(f"{attribute} must not be empty", attribute=attribute)
    if len(value) > limit:
        raise InvalidInput(f"{attribute} is longer than {limit} characters", attribute=attribute)
    _check_chars(value, attribute)
    return value


@overload
def check_name(
    value: str, attribute: str, limit: int, required: bool = False, kept: str | None = None
) -> str: ...
@overload
def check_name(
    value: object, attribute: str, limit: int, required: Literal[True], kept: str | None = None
) -> str: ...
@overload
def check_name(
    value: object, attribute: str, limit: int, required: bool = False, kept: str | None = None
) -> str | None: ...
def check_name(
    value: object, attribute: str, limit: int, required: bool = False, kept: str | None = None
) -> str | None:
    """``check_text`` for a name shown to people (userName, displayName, group names): no
    control or invisible formatting character, so no name can pass for another on screen.
    ``kept``, the value already stored, passes as it is: a name stored before this rule must
    not block the writes (a deactivation above all) that leave it unchanged."""
    value = check_text(value, attribute, limit, required=required)
    if value is not None and value != kept and (char := deceiving_character(value)) is not None:
        raise InvalidInput(
            f"{attribute} contains a control or invisible formatting character "
            f"({describe_character(char)}); names must show every character they hold",
            attribute=attribute,
        )
    return value


def check_group_name(
    value: object, attribute: str, kept: str | None = None, written: bool = True
) -> tuple[str, str]:
    """A group name as stored and compared (a SCIM group's displayName, the IdP group name
    of a mapping row) and its key (``names.group_key``): required text, trimmed, of at most
    ``limits.DISPLAY_NAME`` characters, its key too. A name being ``written`` is a name
    people read (``check_name``; ``kept`` passes as it is); one only looked up (a mapping
    row to remove or preview) may be a name stored before that rule."""
    value = trim(value) if isinstance(value, str) else value
    name = check_text(value, attribute, limits.DISPLAY_NAME, required=True)
    key = check_text(group_key(name), attribute, limits.DISPLAY_NAME)
    if written:
        name = check_name(name, attribute, limits.DISPLAY_NAME, required=True, kept=kept)
    return name, key


def _check_chars(value: str, attribute: str) -> None:
    if (problem := text_problem(value)) is not None:
        raise InvalidInput(f"{attribute} {problem}", attribute=attribute)


def check_document(document: Any, attribute: str) -> dict[str, Any]:
    """A detached copy of a JSON object that both backends can store, or InvalidInput."""
    if not isinstance(document, dict):
        raise InvalidInput(f"{attribute} must be a JSON object", attribute=attribute)
    root: dict[str, Any] = {}
    # Iterative copy: a deeply nested document must not exhaust the Python stack.
    work: list[tuple[Any, Any, int]] = [(document, root, 0)]
    while work:
        source, target, depth = work.pop()
        if depth > limits.NESTING:
            raise InvalidInput(f"{attribute} nests too deeply", attribute=attribute)
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            if isinstance(source, dict):
                if not isinstance(key, str):
                    raise InvalidInput(f"{attribute} has a non-string key", attribute=attribute)
                _check_chars(key, attribute)
            copy = _leaf(value, attribute)
            if isinstance(value, dict | list):
                copy = {} if isinstance(value, dict) else []
                work.append((value, copy, depth + 1))
            if isinstance(target, dict):
                target[key] = copy
            else:
                target.append(copy)
    return root


def _leaf(value: Any, attribute: str) -> Any:
    if isinstance(value, str):
        _check_chars(value, attribute)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{attribute} holds a non-finite number", attribute=attribute)
    elif isinstance(value, int) and value.bit_length() > 13_000:  # ~3,900 digits
        # Python refuses to write integers past 4,300 digits as JSON text.
        raise InvalidInput(f"{attribute} holds a number too long to store", attribute=attribute)
    elif value is not None and not isinstance(value, bool | int | float | dict | list):
        raise InvalidInput(f"{attribute} holds a value JSON cannot carry", attribute=attribute)
    return value
