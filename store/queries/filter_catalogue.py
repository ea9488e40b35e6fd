"""The SQL column behind each attribute a SCIM filter or sort may name, per resource type.

What may be named, and as what type, is ``store.domain.criteria``'s catalogue; this module
only adds where each one is stored. Only these whitelisted column names reach the SQL text the
filter compiler builds (``filtering.py``), which keeps client text out of SQL. Attribute keys
are lower case, as SCIM attribute names are case-insensitive. Nothing here runs a query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from store.domain.criteria import (
    GROUP_ATTRIBUTES,
    GROUP_SORTABLE,
    USER_ATTRIBUTES,
    USER_SORTABLE,
    AttrType,
)
from store.domain.names import fold, group_key


@dataclass(frozen=True)
class Column:
    """A filterable column: its whitelisted SQL reference and how it compares. A
    case-insensitive (STRING) column holds ``key`` of the value, and a filter value is
    compared through the same function."""

    sql: str
    type: AttrType
    key: Callable[[str], str] = fold


@dataclass(frozen=True)
class MultiValued:
    """A multi-valued attribute stored in a child table, matched through EXISTS."""

    table: str
    alias: str
    link: str  # joins the child alias to the parent row
    subs: dict[str, Column]
    scoped: str = ""
    """For a caller scoped to one connection, the condition a child row must also meet
    (``{connection}`` is the bound connection id): a member of another connection is as
    absent as an unknown one."""

    def exists(self, condition: str) -> str:
        return (
            f'EXISTS (SELECT 1 FROM "{self.table}" {self.alias} WHERE {self.link} AND {condition})'
        )


@dataclass(frozen=True)
class Catalogue:
    """Everything a filter or sort may name for one resource type, keyed in lower case."""

    alias: str
    singles: dict[str, Column]
    multis: dict[str, MultiValued]
    sortable: dict[str, tuple[str, bool]] = field(default_factory=dict)  # -> (column, text?)
    default_order: str = ""  # a total order when the client asks for none

    def single(self, name: str) -> Column | None:
        return self.singles.get(name)


STRING, EXACT, BOOLEAN, DATETIME = (
    AttrType.STRING,
    AttrType.EXACT,
    AttrType.BOOLEAN,
    AttrType.DATETIME,
)


def _catalogue(
    alias: str,
    attributes: dict[str, AttrType],
    columns: dict[str, str],
    tables: dict[str, tuple[str, str, str]],
    sortable: tuple[str, ...],
    default_order: str,
    keys: dict[str, Callable[[str], str]] | None = None,
    scoped: dict[str, str] | None = None,
) -> Catalogue:
    """The SQL side of the domain catalogue: every filterable attribute (``attributes``, from
    ``store.domain.criteria``) with the column that holds it (``columns``; a sub-attribute of
    a multi-valued one lives in its child table, ``tables``: name -> (table, alias, link)).
    An attribute without a column fails at import, so the two cannot drift apart. ``scoped``
    gives a child table's condition for a caller scoped to one connection."""
    singles: dict[str, Column] = {}
    multis: dict[str, MultiValued] = {}
    for name, kind in attributes.items():
        key = (keys or {}).get(name, fold)
        base, _, sub = name.partition(".")
        if base in tables:
            table, child, link = tables[base]
            found = MultiValued(table, child, link, {}, (scoped or {}).get(base, ""))
            multi = multis.setdefault(base.lower(), found)
            multi.subs[sub.lower()] = Column(f'{child}."{columns[name]}"', kind, key)
        else:
            singles[name.lower()] = Column(f'{alias}."{columns[name]}"', kind, key)
    return Catalogue(
        alias=alias,
        singles=singles,
        multis=multis,
        sortable={
            name.lower(): (singles[name.lower()].sql, attributes[name] in (STRING, EXACT))
            for name in sortable
        },
        default_order=default_order,
    )


USERS = _catalogue(
    "u",
    USER_ATTRIBUTES,
    columns={
        "id": "id",
        "userName": "user_name_key",
        "externalId": "external_id",
        "displayName": "display_name_key",
        "active": "active",
        "name.givenName": "given_name_key",
        "name.familyName": "family_name_key",
        "meta.created": "created",
        "meta.lastModified": "last_modified",
        "emails.value": "value_key",
        "emails.type": "type",  # stored folded: the document keeps the type as sent
        "emails.primary": "primary",
    },
    tables={"emails": ("scim_user_email", "e", 'e."user" = u."id"')},
    sortable=USER_SORTABLE,
    # Listings only ever hold live users (deleted_at IS NULL), so leading with deleted_at
    # changes nothing in the order but lets both backends walk the (deleted_at, created, id)
    # index instead of sorting.
    default_order='u."deleted_at", u."created", u."id"',
)

GROUPS = _catalogue(
    "g",
    GROUP_ATTRIBUTES,
    columns={
        "id": "id",
        "displayName": "display_name_key",
        "externalId": "external_id",
        "meta.created": "created",
        "meta.lastModified": "last_modified",
        "members.value": "user",
    },
    tables={"members": ("scim_membership", "m", 'm."group" = g."id"')},
    sortable=GROUP_SORTABLE,
    default_order='g."created", g."id"',
    keys={"displayName": group_key},
    scoped={
        "members": 'EXISTS (SELECT 1 FROM "scim_user" mu WHERE mu."id" = m."user" '
        'AND mu."connection_id" = {connection})'
    },
)
