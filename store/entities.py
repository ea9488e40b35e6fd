"""Typed views of the Pony entities, for the type checker.

Pony is untyped: to mypy the bound ``Database`` and every entity class ``store.db`` declares
are ``Any``. These Protocols say which attributes each row has, with their Python types, and
which parts of Pony's entity and query API the store uses, so ``Store.db`` (``BoundDatabase``)
and the rows the services and queries hand around are checked like any other value.
Nothing here runs: the Protocols are matched structurally, never instantiated or inherited
by the entities. A column added in ``store.db`` (with its migration) is added here too.

Columns that are ``Optional(..., nullable=True)`` in ``store.db`` read as ``X | None``;
``Optional(str)`` without ``nullable`` reads as ``""`` when unset, so it is ``str``. JSON
columns are ``Any``: what they hold is checked where they are written and read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol, TypeVar

Row = TypeVar("Row")


class Query(Protocol[Row]):
    """A Pony query over one entity (``Entity.select``, ``Query.filter``)."""

    def __iter__(self) -> Iterator[Row]: ...
    def filter(self, *conditions: Any, **values: Any) -> Query[Row]: ...
    def order_by(self, *keys: Any) -> Query[Row]: ...
    def for_update(self, nowait: bool = False, skip_locked: bool = False) -> Query[Row]: ...
    def limit(self, limit: int | None = None, offset: int | None = None) -> list[Row]: ...
    def page(self, pagenum: int, pagesize: int = 10) -> list[Row]: ...
    def first(self) -> Row | None: ...
    def count(self) -> int: ...
    def exists(self) -> bool: ...
    def delete(self, bulk: bool = False) -> int: ...
    def max(self) -> Any: ...
    def __getitem__(self, key: slice) -> list[Row]: ...


class EntitySet(Protocol[Row]):
    """A to-many relation of a row (``Set`` in ``store.db``)."""

    def __iter__(self) -> Iterator[Row]: ...
    def __len__(self) -> int: ...
    def select(self, *conditions: Any) -> Query[Row]: ...
    def count(self) -> int: ...
    def is_empty(self) -> bool: ...
    def load(self) -> None: ...
    def add(self, item: Row) -> None: ...
    def remove(self, item: Row) -> None: ...
    def clear(self) -> None: ...


class Entity(Protocol):
    """What every row has."""

    def delete(self) -> None: ...
    def set(self, **values: Any) -> None: ...
    def flush(self) -> None: ...


Row_e = TypeVar("Row_e", bound=Entity)


class EntityClass(Protocol[Row_e]):
    """An entity class: creating a row, finding one, querying. Iterating it and its
    attributes (``JobRun.started``) only mean something inside a Pony query expression."""

    def __call__(self, **values: Any) -> Row_e: ...
    def get(self, *conditions: Callable[[Row_e], Any], **key: Any) -> Row_e | None: ...
    def get_for_update(self, nowait: bool = False, **key: Any) -> Row_e | None: ...
    def select(self, *conditions: Callable[[Row_e], Any]) -> Query[Row_e]: ...
    def exists(self, *conditions: Callable[[Row_e], Any], **key: Any) -> bool: ...
    def __getitem__(self, key: Any) -> Row_e: ...
    def __iter__(self) -> Iterator[Row_e]: ...
    def __getattr__(self, column: str) -> Any: ...


# ---- the rows --------------------------------------------------------------------------------


class Connection(Entity, Protocol):
    id: int
    name: str
    name_key: str
    kind: str | None
    domains: str | None
    removed_at: datetime | None
    created_at: datetime
    tokens: EntitySet[ScimToken]
    users: EntitySet[User]
    groups: EntitySet[Group]
    mappings: EntitySet[GroupRoleMapping]


class User(Entity, Protocol):
    id: str
    connection: Connection
    user_name: str
    user_name_key: str | None
    external_id: str | None
    display_name: str | None
    display_name_key: str | None
    given_name_key: str | None
    family_name_key: str | None
    active: bool
    document: Any
    created: datetime
    last_modified: datetime
    version: int
    deleted_at: datetime | None
    held_at: datetime | None
    held_by: str | None
    hold_reason: str | None
    idp_active: bool | None
    emails: EntitySet[UserEmail]
    memberships: EntitySet[Membership]
    role_assignments: EntitySet[RoleAssignment]
    sessions: EntitySet[Session]


class UserEmail(Entity, Protocol):
    id: int
    user: User
    value: str
    value_key: str
    type: str | None
    primary: bool


class Versioned(Protocol):
    """A row with an ETag version and lastModified: an entity, or a row a use case locked
    with a bound statement (``store.services.groups.LockedGroup``)."""

    id: str
    version: int
    last_modified: datetime


class GroupColumns(Versioned, Protocol):
    """The columns of a group row that make its record, as its entity or a locked row holds
    them (datetimes naive UTC, ``document`` parsed)."""

    display_name: str
    display_name_key: str
    external_id: str | None
    document: Any
    created: datetime
    member_count: int


class Group(Entity, GroupColumns, Protocol):
    connection: Connection
    memberships: EntitySet[Membership]


class Membership(Entity, Protocol):
    group: Group
    user: User
    created: datetime


class Role(Entity, Protocol):
    name: str
    description: str
    created: datetime
    mappings: EntitySet[GroupRoleMapping]
    assignments: EntitySet[RoleAssignment]


class GroupRoleMapping(Entity, Protocol):
    id: int
    group_name: str
    group_name_key: str
    role: Role
    created: datetime
    created_by: str
    connection: Connection | None  # None: the group name in every connection


class RoleAssignment(Entity, Protocol):
    id: int
    user: User
    role: Role
    source: str  # a GrantSource value
    via_group: str
    created: datetime
    granted_by: str


class Session(Entity, Protocol):
    id: int
    secret_hash: str
    user: User
    created: datetime
    last_seen: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    client_address: str | None
    user_agent: str | None


class ScimToken(Entity, Protocol):
    id: int
    name: str
    name_key: str
    prefix: str
    secret_hash: str
    created: datetime
    created_by: str
    last_used: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    rate_limit: int | None
    stale_since: datetime | None
    connection: Connection


class RateBucket(Entity, Protocol):
    key: str
    tat: float
    step: float | None


class AuditEvent(Entity, Protocol):
    id: int
    at: datetime
    actor: str
    action: str  # an AuditAction value
    target_type: str
    target_id: str
    target_name: str
    before: Any
    after: Any
    detail: str


class Activity(Entity, Protocol):
    id: int
    at: datetime
    token_id: int | None
    token_name: str
    client: str
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    scim_type: str
    detail: str
    user_agent: str
    hits: int
    connection: str | None  # the token's connection, by name


class JobRun(Entity, Protocol):
    id: int
    job: str
    started: datetime
    finished: datetime | None
    outcome: str  # a JobOutcome value
    changed: int
    summary: str
    error: str
    holder: str


class Lease(Entity, Protocol):
    name: str
    holder: str
    expires_at: float


class PendingRecompute(Entity, Protocol):
    id: int
    group_name_key: str
    cause: Any
    actor: str
    after_user: str
    done: int
    changed: int
    created: datetime
    group_id: str | None  # a group whose members move in batches (``member_batches``)
    members: Any


class SchemaMeta(Entity, Protocol):
    key: str
    value: str


class BoundDatabase(Protocol):
    """A Pony ``Database`` with the entities of ``store.db`` bound (``Store.db``). What
    only Pony's internals give (raw SQL, statistics, connections) goes through ``store.sql``,
    which takes the database as it is."""

    provider_name: str
    Connection: EntityClass[Connection]
    User: EntityClass[User]
    UserEmail: EntityClass[UserEmail]
    Group: EntityClass[Group]
    Membership: EntityClass[Membership]
    Role: EntityClass[Role]
    GroupRoleMapping: EntityClass[GroupRoleMapping]
    RoleAssignment: EntityClass[RoleAssignment]
    Session: EntityClass[Session]
    ScimToken: EntityClass[ScimToken]
    RateBucket: EntityClass[RateBucket]
    AuditEvent: EntityClass[AuditEvent]
    Activity: EntityClass[Activity]
    JobRun: EntityClass[JobRun]
    Lease: EntityClass[Lease]
    PendingRecompute: EntityClass[PendingRecompute]
    SchemaMeta: EntityClass[SchemaMeta]

    def flush(self) -> None: ...
    def disconnect(self) -> None: ...
