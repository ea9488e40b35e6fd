"""Filter compiler: store.domain.criteria trees -> SQL WHERE fragments with bound parameters.

One compiler serves SQLite and PostgreSQL, for the User and Group catalogues. The SQL text it
builds contains only fixed keywords, whitelisted table/column names and ``$pN`` placeholders;
every value a client sent travels in the parameter dict. That matters doubly with Pony, which
evaluates ``$(...)`` anywhere in raw SQL text: a value pasted into the text could run Python.

Rules: case-insensitive attributes compare through folded key columns with a folded value;
case-exact ones compare raw; ``co``/``sw``/``ew`` escape the value's wildcards; ``pr`` means
"not null and not empty"; multi-valued attributes (emails, members) match when any value does
(an EXISTS subquery). Every fragment is two-valued (never SQL NULL) so ``not`` is exact.

It compiles trees that follow the catalogue's rules (``store.domain.criteria``: canonical
names, known operators, values of the attribute's type), as ``api.scim.filter.parse_filter``
and ``criteria.check`` produce them, and does not check them again; its own failure is
``TooCostly`` when the database time runs out (``store.budget``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from store.budget import postgres_prefix, query_budget
from store.context import Store
from store.domain.criteria import (
    And,
    Compare,
    Criteria,
    Not,
    Or,
    Present,
    Sort,
    ValuePath,
)
from store.domain.scope import OPERATOR, Scope
from store.errors import InvalidInput
from store.queries.filter_catalogue import (
    BOOLEAN,
    DATETIME,
    EXACT,
    GROUPS,
    STRING,
    USERS,
    Catalogue,
    Column,
    MultiValued,
)
from store.sql import select_rows, select_rows_transient

_SAFE_PLACEHOLDERS = re.compile(r"\$(?!p\d+(?![\w.(\[]))")

T = TypeVar("T")


@dataclass(frozen=True)
class SqlFragment:
    """A WHERE (or ORDER BY) fragment and the values its ``$pN`` placeholders name."""

    sql: str
    params: dict[str, Any]


class _Compiler:
    def __init__(self, catalogue: Catalogue, provider: str, connection: int | None = None) -> None:
        self.catalogue = catalogue
        self.postgres = provider == "postgres"
        self.params: dict[str, Any] = {}
        self.connection = connection  # a token's scope: child rows of it only (``scoped``)

    def _exists(self, multi: MultiValued, condition: str) -> str:
        if self.connection is not None and multi.scoped:
            scoped = multi.scoped.format(connection=self._bind(self.connection))
            condition = f"{condition} AND {scoped}"
        return multi.exists(condition)

    # ---- tree walk (iterative: a long or deep filter must not exhaust the Python stack) ----

    def compile(self, root: Criteria) -> str:
        out: list[str] = []
        work: list[tuple[Any, ...]] = [("visit", root, None)]
        while work:
            item = work.pop()
            kind = item[0]
            if kind == "join":
                _, word, count = item
                parts = out[-count:]
                del out[-count:]
                out.append("(" + f" {word} ".join(parts) + ")")
            elif kind == "not":
                out[-1] = f"(NOT {out[-1]})"
            elif kind == "exists":
                out[-1] = self._exists(item[1], out[-1])
            else:
                self._visit(item[1], item[2], work, out)
        return out[0]

    def _visit(
        self, node: Criteria, scope: MultiValued | None, work: list[Any], out: list[str]
    ) -> None:
        if isinstance(node, And | Or):
            operands = _flatten(node)
            work.append(("join", "AND" if isinstance(node, And) else "OR", len(operands)))
            work.extend(("visit", op, scope) for op in reversed(operands))
        elif isinstance(node, Not):
            work.append(("not",))
            work.append(("visit", node.inner, scope))
        elif isinstance(node, ValuePath):
            multi = self.catalogue.multis[node.attribute.lower()]
            work.append(("exists", multi))
            work.append(("visit", node.inner, multi))
        else:
            out.append(self._leaf(node, scope))

    def _leaf(self, node: Compare | Present, scope: MultiValued | None) -> str:
        column, multi = self._resolve(node.attribute, scope)
        if isinstance(node, Present):
            sql = _present(column)
        else:
            sql = self._compare(column, node.op, node.value)
        return self._exists(multi, sql) if multi is not None else sql

    def _resolve(
        self, attribute: str, scope: MultiValued | None
    ) -> tuple[Column, MultiValued | None]:
        """The column a canonical attribute name stands for, and the EXISTS wrapper it needs
        (a multi-valued attribute's sub-attribute outside brackets)."""
        name = attribute.lower()
        if scope is not None:
            return scope.subs[name], None
        column = self.catalogue.single(name)
        if column is not None:
            return column, None
        base, _, sub_name = name.partition(".")
        multi = self.catalogue.multis[base]
        return multi.subs[sub_name], multi

    # ---- comparisons ------------------------------------------------------------------

    def _bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def _compare(self, column: Column, op: str, value: Any) -> str:
        c = column.sql
        if column.type is BOOLEAN:
            return _equality(c, op, self._bind(value))
        if column.type is DATETIME:
            return self._ordered(c, op, self._bind(self._datetime(value)), False)
        text = column.key(value) if column.type is STRING else value
        if op in ("co", "sw", "ew"):
            return self._like(c, op, text, column.type is EXACT)
        return self._ordered(c, op, self._bind(text), True)

    def _ordered(self, c: str, op: str, placeholder: str, text: bool) -> str:
        if op in ("eq", "ne"):
            return _equality(c, op, placeholder)
        symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        # Code-point order on both backends, whatever collation the PostgreSQL database has.
        collate = ' COLLATE "C"' if text and self.postgres else ""
        return f"({c} IS NOT NULL AND {c}{collate} {symbol} {placeholder})"

    def _like(self, c: str, op: str, text: str, case_exact: bool) -> str:
        if case_exact and not self.postgres:
            # SQLite's LIKE ignores ASCII case; GLOB is case-exact. Its wildcards are escaped
            # by wrapping each in a one-character class.
            body = re.sub(r"([*?\[])", r"[\1]", text)
            pattern = {"co": f"*{body}*", "sw": f"{body}*", "ew": f"*{body}"}[op]
            return f"({c} IS NOT NULL AND {c} GLOB {self._bind(pattern)})"
        body = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"co": f"%{body}%", "sw": f"{body}%", "ew": f"%{body}"}[op]
        # E'\\' is one backslash whatever standard_conforming_strings says.
        escape = "E'\\\\'" if self.postgres else "'\\'"
        return f"({c} IS NOT NULL AND {c} LIKE {self._bind(pattern)} ESCAPE {escape})"

    def _datetime(self, moment: datetime) -> datetime | str:
        # SQLite keeps Pony's text form; a bound datetime would compare as different text.
        return moment if self.postgres else moment.isoformat(" ", "microseconds")


def _flatten(node: And | Or) -> list[Criteria]:
    """a AND (b AND c) -> [a, b, c]: keeps the SQL shallow for long IdP-built chains."""
    kind = type(node)
    operands: list[Criteria] = []
    stack: list[Criteria] = [node]
    while stack:
        current = stack.pop()
        if type(current) is kind:
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    return operands


def _equality(c: str, op: str, placeholder: str) -> str:
    if op == "eq":
        return f"({c} IS NOT NULL AND {c} = {placeholder})"
    return f"({c} IS NULL OR {c} <> {placeholder})"


def _present(column: Column) -> str:
    if column.type in (STRING, EXACT):
        return f"({column.sql} IS NOT NULL AND {column.sql} <> '')"
    return f"({column.sql} IS NOT NULL)"


def compile_filter(
    criteria: Criteria, catalogue: Catalogue, provider: str, connection: int | None = None
) -> SqlFragment:
    """The WHERE fragment (over the catalogue's alias) matching ``criteria``, a tree that
    follows the catalogue's rules (``store.domain.criteria.check``); with a
    ``connection``, multi-valued references to other connections' rows match nothing."""
    compiler = _Compiler(catalogue, provider, connection)
    sql = compiler.compile(criteria)
    # Belt and braces: the text may name only our own placeholders (see module docstring).
    if _SAFE_PLACEHOLDERS.search(sql):
        raise RuntimeError("filter SQL would contain an unbound '$' expression")
    return SqlFragment(sql, compiler.params)


SCOPE_PARAM = "scope_connection"


def _scoped(
    criteria: Criteria | None, catalogue: Catalogue, provider: str, scope: Scope
) -> SqlFragment:
    """The filter's fragment, and with a token's scope only that connection's rows: another
    connection's users and groups are absent from lists, filters, searches and counts."""
    where = (
        SqlFragment("1 = 1", {})
        if criteria is None
        else compile_filter(criteria, catalogue, provider, scope.connection_id)
    )
    if scope.connection_id is None:
        return where
    sql = f'{catalogue.alias}."connection_id" = ${SCOPE_PARAM} AND ({where.sql})'
    return SqlFragment(sql, {**where.params, SCOPE_PARAM: scope.connection_id})


def user_filter(criteria: Criteria | None, provider: str, scope: Scope = OPERATOR) -> SqlFragment:
    return _scoped(criteria, USERS, provider, scope)


def group_filter(criteria: Criteria | None, provider: str, scope: Scope = OPERATOR) -> SqlFragment:
    return _scoped(criteria, GROUPS, provider, scope)


def scope_column(scope: Scope, alias: str) -> SqlFragment | None:
    """For ``linked``: only the other side's rows ``scope`` sees (None: all)."""
    if scope.connection_id is None:
        return None
    condition = f'{alias}."connection_id" = ${SCOPE_PARAM}'
    return SqlFragment(condition, {SCOPE_PARAM: scope.connection_id})


def order_by(sort: Sort | None, catalogue: Catalogue, provider: str) -> str:
    """A total, stable order: the sort column (nulls last ascending, first descending,
    as RFC 7644 §3.4.2.3 asks), then the id; by default creation time then id."""
    alias = catalogue.alias
    if sort is None:
        return catalogue.default_order
    found = catalogue.sortable.get(sort.attribute.lower())
    if found is None:
        raise InvalidInput(f"cannot sort by {sort.attribute!r}", attribute="sortBy")
    column, text = found
    direction = "DESC" if sort.descending else "ASC"
    collate = ' COLLATE "C"' if text and provider == "postgres" else ""
    return (
        f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END {direction}, "
        f'{column}{collate} {direction}, {alias}."id"'
    )


# ---- running raw SQL ------------------------------------------------------------------------


def fetch_rows(
    store: Store, sql: str, params: dict[str, Any], filter_built: bool = False
) -> list[tuple[Any, ...]]:
    """The rows of a raw SELECT (``$name`` parameters bound from ``params``) as plain tuples,
    in the caller's db_session, without starting a write transaction (``store.sql.select_rows``).

    A text built from a client's filter (``filter_built``) runs within ``[limits]
    query_budget_ms`` (``store.budget``: ``TooCostly`` past it) and is kept parsed only among
    the most recent such texts (``store.sql.select_rows_transient``); fixed texts stay parsed."""
    if not filter_built:
        return select_rows(store.db, sql, params)
    budget_ms = store.settings.limits.query_budget_ms
    sent = postgres_prefix(budget_ms) + sql if store.provider == "postgres" else sql
    with query_budget(budget_ms):
        return select_rows_transient(store.db, sent, params)


def in_list(values: Iterable[Any], prefix: str = "v") -> tuple[str, dict[str, Any]]:
    """``(...)`` for ``IN`` over bound parameters: the text names generated parameters only
    (``$v0, $v1...``), the values travel as parameters and never enter the text."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f"${name}" for name in params) + ")", params


def page_of_rows(
    store: Store,
    source: tuple[str, str],
    columns: tuple[str, ...],
    condition: str,
    params: dict[str, Any],
    paging: tuple[str, int, int],
    computed: tuple[str, ...] = (),
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of one page (``columns`` of ``source``, a (table, alias) pair, that meet the
    filter-built ``condition``) in order, and the full match count. ``computed`` are fixed
    SQL expressions over the alias, read after the columns.

    ``paging`` is (ORDER BY text, 1-based start index, count). Past the first page the page
    is chosen by ids first (walking an index for ids is far cheaper than walking whole rows
    past a deep OFFSET) and its rows read by id, in the same statement. The page is read
    before any COUNT: an IdP's lookup (``startIndex=1``, a page not filled) then knows the
    total without a second statement over the same filter."""
    table, alias = source
    order, start_index, count = paging
    base = f'FROM "{table}" {alias} WHERE {condition}'
    wanted = ", ".join([*(f'{alias}."{column}"' for column in columns), *computed])
    rows: list[tuple[Any, ...]] = []
    if count > 0:
        page = dict(params, lim=count, off=start_index - 1)
        if start_index == 1:
            sql = f"SELECT {wanted} {base} ORDER BY {order} LIMIT $lim OFFSET $off"
        else:
            ids = f'SELECT {alias}."id" {base} ORDER BY {order} LIMIT $lim OFFSET $off'
            sql = (
                f'SELECT {wanted} FROM "{table}" {alias} WHERE {alias}."id" IN ({ids}) '
                f"ORDER BY {order}"
            )
        rows = fetch_rows(store, sql, page, filter_built=True)
        if start_index == 1 and len(rows) < count:
            return rows, len(rows)
    count_sql = f"SELECT COUNT(*) {base}"
    return rows, int(fetch_rows(store, count_sql, params, filter_built=True)[0][0])


def linked(
    store: Store,
    select_from: str,
    column: str,
    ids: Iterable[str],
    only: SqlFragment | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """Memberships seen from one side: ``select_from`` (a SELECT ... FROM without WHERE)
    yields (owner id, other id, other's name, other's folded name) for the owners whose
    ``column`` is among ``ids`` (and that meet ``only``, if given). Returns each owner's
    (other id, name) pairs ordered by folded name then id, reading 500 owners per statement."""
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for condition, params in chunked_in(column, list(dict.fromkeys(ids))):
        if only is not None:
            condition, params = f"{condition} AND {only.sql}", {**params, **only.params}
        for owner, other, name, key in fetch_rows(
            store, f"{select_from} WHERE {condition}", params
        ):
            found[owner].append((key or "", other, name))
    return {owner: [(o, n) for _k, o, n in sorted(rows)] for owner, rows in found.items()}


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size`` (the one way the store splits a
    long list of ids into statements or transactions)."""
    size = max(1, size)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def chunked_in(
    column: str, values: Sequence[Any], size: int = 500
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``column IN (...)`` conditions over ``values``, ``size`` at a time, with their bound
    parameters; one statement text per chunk length."""
    for chunk in chunks(values, size):
        params = {f"i{n}": value for n, value in enumerate(chunk)}
        marks = ", ".join(f"$i{n}" for n in range(len(chunk)))
        yield f"{column} IN ({marks})", params


def sql_datetime(value: datetime | str) -> datetime:
    """A raw timestamp column as aware UTC (SQLite hands back Pony's text form)."""
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC)


def sql_naive(value: datetime | str) -> datetime:
    """A raw timestamp column as naive UTC, the form an entity holds."""
    return sql_datetime(value).replace(tzinfo=None)


def sql_timestamp(store: Store, value: datetime) -> datetime | str:
    """A naive-UTC datetime as a bound parameter of a raw statement, in the form Pony stores
    it (SQLite keeps text with microseconds; PostgreSQL takes the datetime itself)."""
    if store.provider == "sqlite":
        return value.isoformat(" ", timespec="microseconds")
    return value


_PONY_JSON: dict[str, Any] = {"separators": (",", ":"), "sort_keys": True, "ensure_ascii": False}


def json_param(value: Any) -> str | None:
    """A JSON value as a bound parameter of a raw statement, as the text Pony writes on
    SQLite (PostgreSQL: cast the parameter to jsonb in the statement)."""
    return None if value is None else json.dumps(value, **_PONY_JSON)


def sql_json(value: Any) -> Any:
    """A raw JSON column as Python values (Pony leaves jsonb unparsed on PostgreSQL too)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
