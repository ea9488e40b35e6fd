"""Filter compiler: store.domain.criteria trees -> SQL WHERE fragments with bound parameters.

One compiler serves SQLite and PostgreSQL, for the User and Group catalogues. The SQL text it
builds contains only fixed keywords, whitelisted table/column names and ``$pN`` placeholders;
every value a client sent travels in the parameter dict. That matters doubly with Pony, which
evaluates ``$(...)`` anywhere in raw SQL text: a value pasted into the text could run Python.

Rules: case-insensitive attributes compare through folded key columns with a folded value;
case-exact ones compare raw; ``co``/``sw``/``ew`` escape the value's wildcards; ``pr`` means
"not null and not empty"; multi-valued attributes (emails, members) match when any value does
(an EXISTS subquery). Every fragment is two-valued (never SQL NULL) so ``not`` is exact.

This module must not accept an attribute outside the catalogue, nor raise anything but
``InvalidInput(attribute="filter")`` for a filter it cannot answer.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pony.orm import core as pony_core

from store.budget import postgres_prefix, query_budget
from store.context import Store
from store.domain.criteria import (
    COMPARISON_OPERATORS,
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

MAX_TERMS = 200
"""Comparisons one filter may hold (a few dozen is already unusual for an IdP)."""
MAX_NESTING = 50
"""Nesting of not / value paths / mixed and-or groups after flattening same-operator chains."""

_CORE_PREFIXES = (
    "urn:ietf:params:scim:schemas:core:2.0:user:",
    "urn:ietf:params:scim:schemas:core:2.0:group:",
)
_SAFE_PLACEHOLDERS = re.compile(r"\$(?!p\d+(?![\w.(\[]))")


@dataclass(frozen=True)
class SqlFragment:
    """A WHERE (or ORDER BY) fragment and the values its ``$pN`` placeholders name."""

    sql: str
    params: dict[str, Any]


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, attribute="filter")


def _canonical(name: str) -> str:
    lowered = name.lower()
    for prefix in _CORE_PREFIXES:
        if lowered.startswith(prefix):
            return lowered[len(prefix) :]
    return lowered


class _Compiler:
    def __init__(self, catalogue: Catalogue, provider: str, connection: int | None = None) -> None:
        self.catalogue = catalogue
        self.postgres = provider == "postgres"
        self.params: dict[str, Any] = {}
        self.terms = 0
        self.connection = connection  # a token's scope: child rows of it only (``scoped``)

    def _exists(self, multi: MultiValued, condition: str) -> str:
        if self.connection is not None and multi.scoped:
            scoped = multi.scoped.format(connection=self._bind(self.connection))
            condition = f"{condition} AND {scoped}"
        return multi.exists(condition)

    # ---- tree walk (iterative: a long or deep filter must not exhaust the Python stack) ----

    def compile(self, root: Criteria) -> str:
        out: list[str] = []
        work: list[tuple[Any, ...]] = [("visit", root, None, 0)]
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
                self._visit(item[1], item[2], item[3], work, out)
        return out[0]

    def _visit(
        self, node: Any, scope: MultiValued | None, depth: int, work: list[Any], out: list[str]
    ) -> None:
        if depth > MAX_NESTING:
            raise _bad(f"the filter nests deeper than {MAX_NESTING} levels")
        if isinstance(node, And | Or):
            operands = _flatten(node)
            work.append(("join", "AND" if isinstance(node, And) else "OR", len(operands)))
            work.extend(("visit", op, scope, depth + 1) for op in reversed(operands))
        elif isinstance(node, Not):
            work.append(("not",))
            work.append(("visit", node.inner, scope, depth + 1))
        elif isinstance(node, ValuePath):
            multi = self.catalogue.multis.get(_canonical(node.attribute))
            if scope is not None or multi is None:
                raise _bad(f"{node.attribute!r} cannot be filtered with [...]")
            work.append(("exists", multi))
            work.append(("visit", node.inner, multi, depth + 1))
        elif isinstance(node, Compare | Present):
            out.append(self._leaf(node, scope))
        else:
            raise _bad("the filter has an unsupported shape")

    def _leaf(self, node: Compare | Present, scope: MultiValued | None) -> str:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise _bad(f"the filter has more than {MAX_TERMS} comparisons")
        column, multi = self._resolve(node.attribute, scope)
        if isinstance(node, Present):
            sql = _present(column)
        else:
            sql = self._compare(column, node.op.lower(), node.value, node.attribute)
        return self._exists(multi, sql) if multi is not None else sql

    def _resolve(
        self, attribute: str, scope: MultiValued | None
    ) -> tuple[Column, MultiValued | None]:
        """The column an attribute names, and the EXISTS wrapper it needs (if any)."""
        name = _canonical(attribute)
        if scope is not None:
            sub = scope.subs.get(name.rsplit(".", 1)[-1] if "." in name else name)
            if sub is None:
                raise _bad(f"unsupported attribute in filter: {attribute!r}")
            return sub, None
        column = self.catalogue.single(name)
        if column is not None:
            return column, None
        base, _, sub_name = name.partition(".")
        multi = self.catalogue.multis.get(base)
        sub = multi.subs.get(sub_name or "value") if multi is not None else None
        if multi is None or sub is None:
            raise _bad(f"unsupported attribute in filter: {attribute!r}")
        return sub, multi

    # ---- comparisons ------------------------------------------------------------------

    def _bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def _compare(self, column: Column, op: str, value: Any, attribute: str) -> str:
        if op not in COMPARISON_OPERATORS:
            raise _bad(f"unsupported operator {op!r}")
        c = column.sql
        if value is None:
            return _null_compare(column, op, attribute)
        if column.type is BOOLEAN:
            if op not in ("eq", "ne"):
                raise _bad(f"{attribute!r} is boolean: only eq and ne apply")
            return _equality(c, op, self._bind(_as_bool(value, attribute)))
        if column.type is DATETIME:
            if op in ("co", "sw", "ew"):
                raise _bad(f"{attribute!r} is a dateTime: {op} does not apply")
            return self._ordered(c, op, self._bind(self._datetime(value, attribute)), False)
        text = _as_text(value, attribute)
        if column.type is STRING:
            text = column.key(text)
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

    def _datetime(self, value: Any, attribute: str) -> Any:
        moment = _as_datetime(value, attribute)
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
            stack.append(current.right)  # type: ignore[union-attr]
            stack.append(current.left)  # type: ignore[union-attr]
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


def _null_compare(column: Column, op: str, attribute: str) -> str:
    """``attr eq null`` asks for absence, ``attr ne null`` for presence."""
    if op == "eq":
        return f"(NOT {_present(column)})"
    if op == "ne":
        return _present(column)
    raise _bad(f"null can only be compared with eq or ne ({attribute!r})")


def _check_text(text: str, attribute: str) -> str:
    if "\x00" in text:
        raise _bad(f"the value for {attribute!r} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(f"the value for {attribute!r} is not valid Unicode") from None
    return text


def _as_text(value: Any, attribute: str) -> str:
    if isinstance(value, bool | datetime):
        raise _bad(f"{attribute!r} is a string: compare it with a quoted value")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(f"{attribute!r} cannot be compared with {value!r}")
        try:
            value = str(value)
        except ValueError:  # an integer past Python's digit limit
            raise _bad(f"the number compared with {attribute!r} is too long") from None
    if not isinstance(value, str):
        raise _bad(f"unsupported value for {attribute!r}")
    return _check_text(value, attribute)


def _as_bool(value: Any, attribute: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(f"{attribute!r} is boolean: compare it with true or false")


def _as_datetime(value: Any, attribute: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(_check_text(value, attribute))
        except ValueError:
            raise _bad(f"{attribute!r} needs an ISO 8601 dateTime, not {value!r}") from None
    if not isinstance(value, datetime):
        raise _bad(f"{attribute!r} needs an ISO 8601 dateTime")
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
            raise _bad(f"{attribute!r}: the dateTime is out of range") from None
    return value


def compile_filter(
    criteria: Criteria, catalogue: Catalogue, provider: str, connection: int | None = None
) -> SqlFragment:
    """The WHERE fragment (over the catalogue's alias) matching ``criteria``; with a
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
    found = catalogue.sortable.get(_canonical(sort.attribute))
    if found is None:
        raise InvalidInput(f"cannot sort by {sort.attribute!r}", attribute="sortBy")
    column, text = found
    direction = "DESC" if sort.descending else "ASC"
    collate = ' COLLATE "C"' if text and provider == "postgres" else ""
    return (
        f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END {direction}, "
        f'{column}{collate} {direction}, {alias}."id"'
    )


# ---- running raw SQL through Pony without letting its caches grow per filter shape ---------

MAX_CACHED_TEXTS = 64
"""Filter-built statement texts kept parsed in Pony's cache. An IdP repeats a handful of
shapes (``userName eq``, ``externalId eq``, ``displayName eq``), which then stay parsed; a
client that invents new shapes only ever evicts the oldest."""
_cached_texts: OrderedDict[tuple[str, str], None] = OrderedDict()
_cached_lock = threading.Lock()


def fetch_rows(
    store: Store, sql: str, params: dict[str, Any], filter_built: bool = False
) -> list[tuple[Any, ...]]:
    """The rows of a raw SELECT (``$name`` parameters bound from ``params``) as plain tuples,
    in the caller's db_session, without starting a write transaction.

    ``db.select`` builds a new row class on every call, which costs more than a short
    statement itself; this takes the same path Pony's raw SQL takes (``_exec_raw_sql``, whose
    signature is fixed by the pinned Pony release) and leaves the rows as they come. A text
    built from a client's filter (``filter_built``) runs within ``[limits] query_budget_ms``
    (``store.budget``: ``TooCostly`` past it) and is kept parsed only among the
    ``MAX_CACHED_TEXTS`` most recent; fixed texts stay in Pony's cache."""
    if not filter_built:
        cursor = store.db._exec_raw_sql(sql, {}, dict(params), 0)
        return [tuple(row) for row in cursor.fetchall()]
    budget_ms = store.settings.limits.query_budget_ms
    sent = postgres_prefix(budget_ms) + sql if store.provider == "postgres" else sql
    try:
        with query_budget(budget_ms):
            cursor = store.db._exec_raw_sql(sent, {}, dict(params), 0)
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        _remember(store, sent)


def _remember(store: Store, sql: str) -> None:
    _drop_stats(store, sql)
    key = (sql, store.db.provider.paramstyle)
    with _cached_lock:
        _cached_texts[key] = None
        _cached_texts.move_to_end(key)
        evicted = None
        if len(_cached_texts) > MAX_CACHED_TEXTS:
            evicted = _cached_texts.popitem(last=False)[0]
    cache = getattr(pony_core, "adapted_sql_cache", None)
    if evicted is not None and cache is not None:
        cache.pop(evicted, None)


def page_of_rows(
    store: Store,
    source: tuple[str, str],
    columns: tuple[str, ...],
    condition: str,
    params: dict[str, Any],
    paging: tuple[str, int, int],
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of one page (``columns`` of ``source``, a (table, alias) pair, that meet the
    filter-built ``condition``) in order, and the full match count.

    ``paging`` is (ORDER BY text, 1-based start index, count). Past the first page the page
    is chosen by ids first (walking an index for ids is far cheaper than walking whole rows
    past a deep OFFSET) and its rows read by id, in the same statement. The page is read
    before any COUNT: an IdP's lookup (``startIndex=1``, a page not filled) then knows the
    total without a second statement over the same filter."""
    table, alias = source
    order, start_index, count = paging
    base = f'FROM "{table}" {alias} WHERE {condition}'
    wanted = ", ".join(f'{alias}."{column}"' for column in columns)
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


def chunked_in(
    column: str, values: list[str], size: int = 500
) -> Iterator[tuple[str, dict[str, str]]]:
    """``column IN (...)`` conditions over ``values``, ``size`` at a time, with their bound
    parameters; one statement text per chunk length."""
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        params = {f"i{n}": value for n, value in enumerate(chunk)}
        marks = ", ".join(f"$i{n}" for n in range(len(chunk)))
        yield f"{column} IN ({marks})", params


def sql_datetime(value: Any) -> datetime:
    """A raw timestamp column as aware UTC (SQLite hands back Pony's text form)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def sql_timestamp(store: Store, value: datetime) -> Any:
    """A naive-UTC datetime as a bound parameter of a raw statement, in the form Pony stores
    it (SQLite keeps text with microseconds; PostgreSQL takes the datetime itself)."""
    if store.provider == "sqlite":
        return value.isoformat(" ", timespec="microseconds")
    return value


def sql_json(value: Any) -> Any:
    """A raw JSON column as Python values (Pony leaves jsonb unparsed on PostgreSQL too)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _adapted(store: Store, sql: str) -> tuple[Any, ...] | None:
    cache = getattr(pony_core, "adapted_sql_cache", None)
    return None if cache is None else cache.get((sql, store.db.provider.paramstyle))


def _drop_stats(store: Store, sql: str) -> None:
    """Pony keeps per-thread statistics per statement text forever; this thread's entry for
    a filter-built text goes at once (nothing here reads them)."""
    entry = _adapted(store, sql)
    if entry is not None:
        store.db.local_stats.pop(entry[0], None)
