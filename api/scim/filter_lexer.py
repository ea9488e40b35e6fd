"""Tokens of SCIM filter and PATCH path expressions (RFC 7644 §3.4.2.2, §3.5.2).

Splits text into brackets, JSON strings, JSON numbers and words (attribute paths, operators,
keywords, true/false/null). Words are interpreted by the parser from their position, so an
attribute may share a spelling with a keyword. Pure: raises only ``ScimError`` built by the
error factory the caller passes (invalidFilter for filters, invalidPath for paths).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import NamedTuple

from api.scim.errors import ScimError
from store.domain.text import text_problem

ErrorFactory = Callable[[str], ScimError]

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z_$.][\w$.:/\-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_PUNCT = "()[]"


class Token(NamedTuple):
    kind: str  # "(" ")" "[" "]" "string" "number" "word" "end"
    text: str
    pos: int  # 0-based offset in the expression
    value: object = None  # decoded string or number

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokenize(text: str, error: ErrorFactory) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
            continue
        token = _next_token(text, pos, error)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _next_token(text: str, pos: int, error: ErrorFactory) -> Token:
    char = text[pos]
    if char in _PUNCT:
        return Token(char, char, pos)
    if char == '"':
        return _string(text, pos, error)
    number = _NUMBER.match(text, pos)
    if number:
        end = number.end()
        if end < len(text) and (text[end].isalnum() or text[end] in "_$.:"):
            raise error(f"invalid number at character {pos + 1}")
        return Token("number", number.group(), pos, _number(number.group(), pos, error))
    word = _WORD.match(text, pos)
    if word:
        return Token("word", word.group(), pos)
    raise error(f"unexpected character {char!r} at character {pos + 1}")


def _string(text: str, pos: int, error: ErrorFactory) -> Token:
    match = _STRING.match(text, pos)
    if not match:
        raise error(f"unterminated string starting at character {pos + 1}")
    quoted = match.group()
    if "\\" in quoted:
        try:
            value = json.loads(quoted, strict=False)
        except ValueError:
            raise error(f"invalid escape in string at character {pos + 1}") from None
    else:
        value = quoted[1:-1]  # no escapes: the characters between the quotes, as JSON reads them
    problem = text_problem(value)
    if problem:
        raise error(f"string at character {pos + 1} {problem}")
    return Token("string", quoted, pos, value)


def _number(text: str, pos: int, error: ErrorFactory) -> int | float:
    try:
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)
    except ValueError:  # more digits than Python converts
        raise error(f"number too long at character {pos + 1}") from None
