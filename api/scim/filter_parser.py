"""Recursive-descent parser for the SCIM filter grammar (RFC 7644 §3.4.2.2).

Precedence not > and > or, parentheses, value paths ``attr[filter]`` and Entra's
``attr[filter].sub op value`` (normalised to a value path whose inner filter also tests
``sub``). What an attribute name means is decided by a ``Resolver``: the query filter resolves
names against the store's filterable catalogue, a PATCH path against the schema. Chains of
``and``/``or`` become balanced trees, so the tree depth stays logarithmic in the number of
terms. Pure: raises only ``ScimError`` from the error factory.
"""

from __future__ import annotations

from typing import Any, Protocol

from api.scim.filter_lexer import ErrorFactory, Token
from store.domain import limits
from store.domain.criteria import (
    COMPARISON_OPERATORS,
    And,
    Compare,
    Criteria,
    Not,
    Or,
    Present,
    ValuePath,
)

_OPERATORS = (*COMPARISON_OPERATORS, "pr")


class Resolver(Protocol):
    def attribute(self, name: str, pos: int) -> str:
        """Canonical name of a top-level attribute path (``emails`` -> ``emails.value``)."""
        ...

    def value_path(self, name: str, pos: int) -> str:
        """Canonical name of a multi-valued attribute opening ``[``."""
        ...

    def sub_attribute(self, parent: str, name: str, pos: int) -> str:
        """Canonical sub-attribute name inside ``parent[...]``."""
        ...

    def value(self, attribute: str, op: str, value: Any, pos: int) -> Any:
        """The comparison value checked and coerced for ``attribute`` (full dotted name)."""
        ...


def balanced(kind: type[And] | type[Or], terms: list[Criteria]) -> Criteria:
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return kind(balanced(kind, terms[:middle]), balanced(kind, terms[middle:]))


class Parser:
    def __init__(
        self,
        tokens: list[Token],
        resolver: Resolver,
        error: ErrorFactory,
        max_depth: int,
        max_comparisons: int = limits.FILTER_COMPARISONS,
    ) -> None:
        self.tokens = tokens
        self.index = 0
        self.resolver = resolver
        self.error = error
        self.max_depth = max_depth
        self.max_comparisons = max_comparisons
        self.comparisons = 0

    # -- token helpers ------------------------------------------------------------------------
    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        token = self.peek
        if token.kind != kind:
            raise self.unexpected(token, what)
        return self.take()

    def unexpected(self, token: Token, what: str) -> Exception:
        found = "end of expression" if token.kind == "end" else repr(token.text)
        return self.error(f"expected {what} at character {token.pos + 1}, found {found}")

    # -- grammar ------------------------------------------------------------------------------
    def filter(self, parent: str | None = None, depth: int = 0) -> Criteria:
        terms = [self.conjunction(parent, depth)]
        while self.peek.is_word("or"):
            self.take()
            terms.append(self.conjunction(parent, depth))
        return balanced(Or, terms)

    def conjunction(self, parent: str | None, depth: int) -> Criteria:
        terms = [self.unary(parent, depth)]
        while self.peek.is_word("and"):
            self.take()
            terms.append(self.unary(parent, depth))
        return balanced(And, terms)

    def unary(self, parent: str | None, depth: int) -> Criteria:
        token = self.peek
        negate = token.is_word("not") and self.tokens[self.index + 1].kind == "("
        if negate or token.kind == "(":
            if depth >= self.max_depth:
                raise self.error(f"filter nested deeper than {self.max_depth} levels")
            if negate:
                self.take()
            self.take()
            inner = self.filter(parent, depth + 1)
            self.expect(")", "')'")
            return Not(inner) if negate else inner
        if token.is_word("not") and not self.tokens[self.index + 1].is_word(*_OPERATORS):
            raise self.error(f"expected '(' after 'not' at character {token.pos + 1}")
        return self.attribute_expression(parent, depth)

    def attribute_expression(self, parent: str | None, depth: int) -> Criteria:
        token = self.expect("word", "an attribute name")
        if self.peek.kind == "[":
            return self.value_path(token, parent, depth)
        if parent is None:
            full = self.resolver.attribute(token.text, token.pos)
            return self.comparison(full, full)
        sub = self.resolver.sub_attribute(parent, token.text, token.pos)
        return self.comparison(sub, f"{parent}.{sub}")

    def value_path(self, token: Token, parent: str | None, depth: int) -> Criteria:
        if parent is not None:
            raise self.error(f"value filters cannot be nested (character {token.pos + 1})")
        if depth >= self.max_depth:
            raise self.error(f"filter nested deeper than {self.max_depth} levels")
        outer = self.resolver.value_path(token.text, token.pos)
        self.take()  # "["
        inner = self.filter(outer, depth + 1)
        self.expect("]", "']'")
        after = self.peek
        if after.kind == "word" and after.text.startswith("."):
            self.take()
            sub = self.resolver.sub_attribute(outer, after.text[1:], after.pos + 1)
            inner = And(inner, self.comparison(sub, f"{outer}.{sub}"))
        return ValuePath(outer, inner)

    def comparison(self, attribute: str, full_name: str) -> Criteria:
        token = self.expect("word", "an operator")
        self.comparisons += 1
        if self.comparisons > self.max_comparisons:
            raise self.error(f"the filter has more than {self.max_comparisons} comparisons")
        op = token.text.lower()
        if op == "pr":
            return Present(attribute)
        if op not in COMPARISON_OPERATORS:
            raise self.error(f"unknown operator {token.text!r} at character {token.pos + 1}")
        value_token = self.take()
        value = self.literal(value_token)
        return Compare(attribute, op, self.resolver.value(full_name, op, value, value_token.pos))

    def literal(self, token: Token) -> Any:
        if token.kind in ("string", "number"):
            return token.value
        if token.is_word("true", "false"):
            return token.text.lower() == "true"
        if token.is_word("null"):
            return None
        raise self.unexpected(token, "a value (string, number, true, false or null)")
