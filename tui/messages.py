"""Messages the operator UI's thread workers post back to the UI thread (past tense).

Each worker runs one store use case or query off the UI thread and posts exactly one of these
(or ``StoreCallFailed``). They carry frozen store records only, never Pony entities. Messages
that carry a token secret live only until their handler has shown it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from store.queries.activity import ActivityRun
from store.records import (
    AuditRecord,
    ConnectionRecord,
    IssuedToken,
    LargeChange,
    MappingRecord,
    Page,
    SessionRecord,
    UserDetail,
    UserSummary,
)


@dataclass
class StoreCallFailed(Message):
    """A use case raised one of the store's errors (or failed unexpectedly)."""

    what: str  # what the operator was doing, e.g. "revoke token"
    kind: str  # "Unavailable", "Conflict", "Invalid input", "Not found", ...
    detail: str


@dataclass
class ProvisioningLoaded(Message):
    connections: tuple[ConnectionRecord, ...]  # each with its tokens
    activity: tuple[ActivityRun, ...]  # entries, identical refusals folded
    health: Any  # what store.queries.jobs.worker_health returns
    notable: tuple[AuditRecord, ...] = ()  # user.renamed events, newest first


@dataclass
class TokenIssued(Message):
    issued: IssuedToken = field(repr=False)
    replaces: str = ""  # a rotation: the old token, which keeps working until revoked


@dataclass
class ConnectionCreated(Message):
    record: ConnectionRecord


@dataclass
class TokenRevoked(Message):
    name: str


@dataclass
class UsersLoaded(Message):
    generation: int  # which search this page answers; older generations are dropped
    page: Page[UserSummary]
    append: bool  # a further page of the same search (lazy loading)


@dataclass
class UserDetailLoaded(Message):
    detail: UserDetail
    roles: tuple[str, ...]  # every role name, for the grant picker
    sessions: tuple[SessionRecord, ...] = ()  # the user's valid sessions


@dataclass
class UserChanged(Message):
    """An operator action on one user succeeded; ``summary`` says what happened."""

    user_id: str
    summary: str


@dataclass
class MappingsLoaded(Message):
    mappings: tuple[MappingRecord, ...]
    roles: tuple[str, ...]
    connections: tuple[str, ...] = ()  # every connection's name, for the mapping dialog
    changes: tuple[LargeChange, ...] = ()  # large changes running in batches


@dataclass
class MappingPreviewed(Message):
    request: tuple[str, str, str | None]  # (group name, role, connection) it was computed for
    changes: tuple[tuple[str, str, str], ...]  # (userName, role, "gain" | "lose")
    matched: str = ""  # which connection's groups the row matches, as one line


@dataclass
class MappingPreviewProgress(Message):
    """The preview of ``request`` has compared ``done`` of its ``total`` active members."""

    request: tuple[str, str, str | None]  # (group name, role, connection)
    done: int
    total: int


@dataclass
class GroupsKnown(Message):
    sizes: dict[str, int]  # group display name -> member count, for the mapping editor


@dataclass
class MappingProgress(Message):
    """A batch of a mapping edit's role recomputation committed: users done of the total."""

    done: int
    total: int


@dataclass
class MappingChanged(Message):
    summary: str
