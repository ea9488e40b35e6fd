"""What a SCIM filter or sort may name, per resource type, and the SQL column behind it.

Only names listed here reach the SQL text the filter compiler builds (``filtering.py``); the
catalogue is the whitelist that keeps client text out of SQL. Attribute keys are lower case,
as SCIM attribute names are case-insensitive. Nothing here runs a query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from store.domain.criteria import AttrType
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


def _s(alias: str, column: str, kind: AttrType, key: Callable[[str], str] = fold) -> Column:
    return Column(f'{alias}."{column}"', kind, key)


STRING, EXACT, BOOLEAN, DATETIME = (
    AttrType.STRING,
    AttrType.EXACT,
    AttrType.BOOLEAN,
    AttrType.DATETIME,
)

USERS = Catalogue(
    alias="u",
    # Listings only ever hold live users (deleted_at IS NULL), so leading with deleted_at
    # changes nothing in the order but lets both backends walk the (deleted_at, created, id)
    # index instead of sorting.
    default_order='u."deleted_at", u."created", u."id"',
    singles={
        "id": _s("u", "id", EXACT),
        "username": _s("u", "user_name_key", STRING),
        "externalid": _s("u", "external_id", EXACT),
        "displayname": _s("u", "display_name_key", STRING),
        "active": _s("u", "active", BOOLEAN),
        "name.givenname": _s("u", "given_name_key", STRING),
        "name.familyname": _s("u", "family_name_key", STRING),
        "meta.created": _s("u", "created", DATETIME),
        "meta.lastmodified": _s("u", "last_modified", DATETIME),
    },
    multis={
        "emails": MultiValued(
            table="scim_user_email",
            alias="e",
            link='e."user" = u."id"',
            subs={
                "value": _s("e", "value_key", STRING),
                # The row's type is stored folded: the document keeps the type as sent.
                "type": _s("e", "type", STRING),
                "primary": _s("e", "primary", BOOLEAN),
            },
        )
    },
    sortable={
        "id": ('u."id"', True),
        "username": ('u."user_name_key"', True),
        "externalid": ('u."external_id"', True),
        "displayname": ('u."display_name_key"', True),
        "meta.created": ('u."created"', False),
        "meta.lastmodified": ('u."last_modified"', False),
    },
)

GROUPS = Catalogue(
    alias="g",
    default_order='g."created", g."id"',
    singles={
        "id": _s("g", "id", EXACT),
        "displayname": _s("g", "display_name_key", STRING, group_key),
        "externalid": _s("g", "external_id", EXACT),
        "meta.created": _s("g", "created", DATETIME),
        "meta.lastmodified": _s("g", "last_modified", DATETIME),
    },
    multis={
        "members": MultiValued(
            table="scim_membership",
            alias="m",
            link='m."group" = g."id"',
            subs={"value": _s("m", "user", EXACT)},
            scoped=(
                'EXISTS (SELECT 1 FROM "scim_user" mu WHERE mu."id" = m."user" '
                'AND mu."connection_id" = {connection})'
            ),
        )
    },
    sortable={
        "id": ('g."id"', True),
        "displayname": ('g."display_name_key"', True),
        "externalid": ('g."external_id"', True),
        "meta.created": ('g."created"', False),
        "meta.lastmodified": ('g."last_modified"', False),
    },
)
