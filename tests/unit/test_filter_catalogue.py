"""One filter-attribute catalogue: the SQL side (``store.queries.filter_catalogue``) is built
from the domain's (``store.domain.criteria``) and names exactly its attributes, types and
sortable names."""

from __future__ import annotations

from store.domain.criteria import (
    GROUP_ATTRIBUTES,
    GROUP_SORTABLE,
    USER_ATTRIBUTES,
    USER_SORTABLE,
    AttrType,
)
from store.queries.filter_catalogue import GROUPS, USERS, Catalogue


def _named(catalogue: Catalogue) -> dict[str, AttrType]:
    named = {name: column.type for name, column in catalogue.singles.items()}
    for base, multi in catalogue.multis.items():
        named.update({f"{base}.{sub}": column.type for sub, column in multi.subs.items()})
    return named


def test_the_sql_catalogue_is_the_domain_catalogue() -> None:
    for sql, attributes, sortable in ((USERS, USER_ATTRIBUTES, USER_SORTABLE),
                                      (GROUPS, GROUP_ATTRIBUTES, GROUP_SORTABLE)):  # fmt: skip
        assert _named(sql) == {name.lower(): kind for name, kind in attributes.items()}
        assert set(sql.sortable) == {name.lower() for name in sortable}
