"""PATCH paths (RFC 7644 §3.5.2): ``attr``, ``attr.sub``, ``urn:...:attr[.sub]``,
``attr[filter]`` and ``attr[filter].sub``.

Attribute names are canonicalised in any case against the schema catalogue; a name the
catalogue does not know is an invalidPath error, and so is a schema URN this service does not
keep (a misspelt enterprise URN such as ``...:enterprise:2.0:User.manager`` would otherwise
change nothing and answer 200). The one exception is Entra's own group schema, which carries
no attribute: its names are kept as given so the caller can ignore them.
Pure: raises only ``ScimError`` (invalidPath).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from api.scim.attributes import Attr, find_attribute, known_schema
from api.scim.errors import invalid_path
from api.scim.filter_lexer import Token, tokenize
from api.scim.filter_parser import Parser
from api.scim.urns import ENTRA_GROUP, GROUP, USER
from store.domain import limits
from store.domain.criteria import Criteria

_NAME = re.compile(r"(?:[A-Za-z][\w\-]*|\$ref)\Z")


@dataclass(frozen=True)
class PatchPath:
    """A parsed PATCH path. ``schema`` is the URN as canonically spelt (None when the path
    had no URN prefix); ``attribute`` is ``""`` when the path names a whole schema, e.g. the
    enterprise extension URN alone. ``value_filter`` attributes are sub-attribute names."""

    schema: str | None
    attribute: str
    sub_attribute: str | None = None
    value_filter: Criteria | None = None

    @property
    def schema_known(self) -> bool:
        return self.schema is None or known_schema(self.schema) is not None

    def target(self, default_schema: str) -> tuple[str, str, str, str]:
        """What the path names, in one spelling (a path without a URN is under
        ``default_schema``): two keys of one no-path value with the same target name the
        same thing twice."""
        schema = (self.schema or default_schema).lower()
        sub = (self.sub_attribute or "").lower()
        return schema, self.attribute.lower(), sub, repr(self.value_filter)


def parse_path(text: str) -> PatchPath:
    if not isinstance(text, str) or not text.strip():
        raise invalid_path("path is empty")
    if len(text) > limits.PATH_LENGTH:
        raise invalid_path(f"path is longer than {limits.PATH_LENGTH} characters")
    tokens = tokenize(text, invalid_path)
    head = tokens[0]
    if head.kind != "word":
        raise invalid_path(f"path must start with an attribute name: {text!r}")
    whole = known_schema(head.text)
    if whole and tokens[1].kind == "end":
        return PatchPath(whole, "")
    schema, attr, sub = _split(head.text)
    definition = _definition(schema, attr, head.text)
    attr = definition.name if definition else attr
    if tokens[1].kind == "end":
        return PatchPath(schema, attr, _sub_name(definition, attr, sub, head.text))
    if sub is not None or tokens[1].kind != "[":
        raise invalid_path(f"invalid path {text!r}")
    if definition is not None and not definition.multi_valued:
        raise invalid_path(f'"{attr}" is not multi-valued: it cannot take a value filter')
    parser = Parser(tokens, _SubResolver(definition), invalid_path, limits.PATH_DEPTH)
    parser.index = 2
    value_filter = parser.filter(attr, 1)
    parser.expect("]", "']'")
    after = _trailing_sub(parser, definition, attr)
    if parser.peek.kind != "end":
        raise parser.unexpected(parser.peek, "the end of the path")
    return PatchPath(schema, attr, after, value_filter)


def _split(word: str) -> tuple[str | None, str, str | None]:
    schema: str | None = None
    if ":" in word:
        urn, _, word = word.rpartition(":")
        schema = known_schema(urn) or urn
    attr, dot, sub = word.partition(".")
    if not _NAME.match(attr) or (dot and not _NAME.match(sub)):
        raise invalid_path(f"invalid attribute name in path {word!r}")
    return schema, attr, sub if dot else None


def _definition(schema: str | None, attr: str, written: str) -> Attr | None:
    if schema is None:
        found = find_attribute(attr, USER) or find_attribute(attr, GROUP)
    elif known_schema(schema):
        found = find_attribute(attr, schema)
    elif schema.lower() == ENTRA_GROUP.lower():
        return None  # Entra's own group schema: it has no attribute we keep
    else:
        raise invalid_path(f'unknown schema "{schema}" in path "{written}"')
    if found is None:
        raise invalid_path(f'unknown attribute "{written}"')
    return found


def _sub_name(definition: Attr | None, attr: str, sub: str | None, written: str) -> str | None:
    if sub is None or definition is None:
        return sub
    found = definition.sub(sub)
    if found is None:
        raise invalid_path(f'unknown sub-attribute "{written}"')
    return found.name


def _trailing_sub(parser: Parser, definition: Attr | None, attr: str) -> str | None:
    token: Token = parser.peek
    if token.kind != "word" or not token.text.startswith("."):
        return None
    parser.take()
    sub = token.text[1:]
    if not _NAME.match(sub):
        raise invalid_path(f"invalid sub-attribute {sub!r} after ']'")
    return _sub_name(definition, attr, sub, f"{attr}.{sub}")


class _SubResolver:
    """Inside ``attr[...]`` only sub-attributes of ``attr`` may be named."""

    def __init__(self, definition: Attr | None) -> None:
        self.definition = definition

    def attribute(self, name: str, pos: int) -> str:  # never called: parent is always set
        raise invalid_path(f"unexpected attribute {name!r} at character {pos + 1}")

    def value_path(self, name: str, pos: int) -> str:
        raise invalid_path(f"value filters cannot be nested (character {pos + 1})")

    def sub_attribute(self, parent: str, name: str, pos: int) -> str:
        if self.definition is None:
            return name
        found = self.definition.sub(name)
        if found is None:
            raise invalid_path(f'unknown sub-attribute "{parent}.{name}" in value filter')
        return found.name

    def value(self, attribute: str, op: str, value: Any, pos: int) -> Any:
        if value is None:
            raise invalid_path(f"null is not a comparison value at character {pos + 1}")
        return value
