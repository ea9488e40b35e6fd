"""Frozen records the store hands to its callers, and the inputs it takes.

Pony entities never leave ``store/``; every service and query returns these. Timestamps are
timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from store.domain.enums import GrantSource, JobOutcome

T = TypeVar("T")

ExpectedVersions = int | Set[int] | None
"""An If-Match condition: None for none, else the version(s) any one of which must be current."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    start_index: int  # 1-based index of the first item


# ---- SCIM resources -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailInput:
    value: str
    type: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class UserInput:
    """What a create or replace writes. ``document`` is the SCIM representation to keep
    (core and extension attributes; never id, meta, groups or password)."""

    user_name: str
    document: dict[str, Any]
    external_id: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    active: bool | None = True  # None: the request carried no active (see domain.active)
    emails: tuple[EmailInput, ...] = ()


@dataclass(frozen=True)
class GroupRef:
    id: str
    display_name: str


@dataclass(frozen=True)
class UserRecord:
    id: str
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool | None  # None: unassigned, which grants no access (see domain.active)
    document: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int
    groups: tuple[GroupRef, ...] = ()


@dataclass(frozen=True)
class MemberRef:
    id: str
    display: str  # the member's userName


@dataclass(frozen=True)
class GroupInput:
    display_name: str
    document: dict[str, Any]
    external_id: str | None = None


@dataclass(frozen=True)
class GroupRecord:
    id: str
    display_name: str
    external_id: str | None
    document: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int
    member_count: int
    members: tuple[MemberRef, ...] | None = None  # None when not loaded (excludedAttributes)


@dataclass(frozen=True)
class MembershipChange:
    """One step of a group PATCH, applied as a delta in the caller's order."""

    # "add" | "remove" | "replace_all" | "remove_all" | "rename" | "external_id" | "document"
    kind: str
    member_ids: tuple[str, ...] = ()
    value: Any = None


# ---- roles, sessions, tokens ---------------------------------------------------------------


@dataclass(frozen=True)
class RoleRecord:
    name: str
    description: str


@dataclass(frozen=True)
class RoleAssignmentRecord:
    role: str
    source: GrantSource  # SUSPENDED: a manual grant held back after a rename
    via_group: str | None  # the IdP group name (as mapped) for idp, None for manual
    granted_by: str
    created: datetime


@dataclass(frozen=True)
class MappingRecord:
    group_name: str
    role: str
    created: datetime
    created_by: str
    connection: str | None = None  # the groups of this connection only; None: any connection


@dataclass(frozen=True)
class SessionRecord:
    id: int
    user_id: str
    user_name: str
    created: datetime
    last_seen: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    client_address: str | None = None  # the browser's IP address, None when never known
    user_agent: str | None = None  # the browser's User-Agent (capped), None when never known


@dataclass(frozen=True)
class SessionClient:
    """Where a session's browser is, as Control's sign-in or a trusted proxy says: an IP
    address and a User-Agent, either None when not said. Checked and capped by the store
    (``store.domain.clients``) before it keeps them."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class SessionCheck:
    """Result of checking a session cookie: valid with the user and roles, or why not."""

    valid: bool
    reason: str = ""
    user_id: str | None = None
    user_name: str | None = None
    display_name: str | None = None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    prefix: str
    created: datetime
    created_by: str
    last_used: datetime | None
    revoked_at: datetime | None
    rate_limit: int | None
    stale_since: datetime | None
    connection: str = ""  # the name of the connection it authenticates as
    connection_id: int = 0

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.stale_since is not None:
            return "stale"
        return "active"


@dataclass(frozen=True)
class ConnectionRecord:
    """One IdP connection as operators see it (``connection list``, the SCIM Provisioning
    panel): its tokens (active first), what it owns, and how recently it was heard from."""

    id: int
    name: str
    kind: str | None
    created_at: datetime
    user_count: int  # live users it owns
    group_count: int
    last_used: datetime | None  # the most recent Last Used of its tokens (None: never)
    status: str  # "active" | "stale" | "no tokens" (``domain.connections.status``)
    tokens: tuple[TokenRecord, ...] = ()
    domains: tuple[str, ...] = ()  # userName domains its tokens may use (empty: any)


@dataclass(frozen=True)
class TransferItem:
    id: str
    name: str  # the userName or group displayName


@dataclass(frozen=True)
class TransferPlan:
    """What ``transfer_connection`` moves (or, on a dry run, would move)."""

    source: str  # connection names, as stored
    target: str
    users: tuple[TransferItem, ...]
    groups: tuple[TransferItem, ...]
    dry_run: bool
    users_only: bool


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: ``secret`` exists only in this object, shown once."""

    record: TokenRecord
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AuthResult:
    """Outcome of authenticating a bearer token (with its rate limit applied)."""

    ok: bool
    reason: str = ""  # "missing" | "malformed" | "unknown" | "revoked" | "rate_limited"
    token_id: int | None = None
    token_name: str | None = None
    retry_after: float = 0.0
    connection_id: int | None = None  # the token's connection (set when the token is known)
    connection_name: str = ""
    presented: str = ""
    """For a refusal, how the request log names the token presented: its name, "revoked
    <name>", "unknown tscim_AbCd…" (the display prefix only, never the secret) or "" ."""
    address: str = ""
    """On a refusal, the address the failed-authentication limit counts the client under
    (``clients.limited_address``): canonical text, safe to show."""
    locked: bool = False
    """This refusal's failure used up the address's budget: from now on every request from
    it is refused (429) until Retry-After has passed, valid tokens included."""


@dataclass(frozen=True)
class LockedAddress:
    """A client address with failed authentications still counted against it."""

    address: str  # as ``clients.limited_address`` gives it: canonical text, safe to show
    failures: int  # failures still counted (one is forgiven every 60/N seconds)
    locked: bool  # past the limit: every request from it is refused, valid tokens included
    retry_after: float  # seconds until it may try again (0 when not locked)


# ---- audit, activity, worker ---------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    target_name: str
    before: Any
    after: Any
    detail: str


@dataclass(frozen=True)
class ActivityInput:
    at: datetime
    method: str
    path: str
    status: int
    latency_ms: float
    token_id: int | None = None
    token_name: str = ""
    client: str = ""
    query: str = ""
    scim_type: str = ""
    detail: str = ""
    user_agent: str = ""
    connection: str = ""  # the name of the token's connection ("" when none is known)
    hits: int = 1
    """Requests this entry stands for: refusals (401, 429) of one address, status and token
    are kept as one entry per minute (its ``at`` is the newest of them)."""


@dataclass(frozen=True)
class ActivityRecord(ActivityInput):
    id: int = 0


@dataclass(frozen=True)
class LargeChange:
    """A large change still running in batches committed as they go: a group's member moves
    (``members``), a group's deletion (``deletion``) or the IdP role recomputation of
    everyone a group name concerns after a mapping edit or a rename (``roles``)."""

    id: int
    kind: str
    group: str  # the group's name as the change gave it (outside text: sanitise to show)
    done: int  # members moved, or users recomputed, so far
    total: int  # at least ``done``; a recomputation's total may move meanwhile
    actor: str
    started: datetime

    @property
    def what(self) -> str:
        """What is moving, in a few words, for a status line."""
        return {
            "members": "members moving",
            "deletion": "deleting, members leaving",
            "roles": "IdP roles recomputing",
        }.get(self.kind, self.kind)

    @property
    def noun(self) -> str:
        return "user(s)" if self.kind == "roles" else "member(s)"


@dataclass(frozen=True)
class JobRunRecord:
    id: int
    job: str
    started: datetime
    finished: datetime | None
    outcome: JobOutcome
    changed: int
    summary: str
    error: str
    holder: str


@dataclass(frozen=True)
class HoldRecord:
    """An operator's hold on a user: access off until an operator reactivates."""

    since: datetime
    by: str
    reason: str
    idp_active: bool | None  # what the IdP last asked for meanwhile (None: nothing yet)


@dataclass(frozen=True)
class UserDetail:
    user: UserRecord
    roles: tuple[RoleAssignmentRecord, ...]
    active_sessions: int
    audit: tuple[AuditRecord, ...]
    deleted: bool = False
    renames: tuple[AuditRecord, ...] = ()  # user.renamed events, newest first
    hold: HoldRecord | None = None
    connection: str = ""  # the name of the IdP connection that owns the user


# ---- operator views -----------------------------------------------------------------------


@dataclass(frozen=True)
class RoleSource:
    """One role a user holds and where it comes from, as listed next to the user."""

    role: str
    source: GrantSource
    via_group: str | None  # the IdP group name (as mapped) for idp, None for manual


@dataclass(frozen=True)
class UserSummary:
    """A row of the operators' user list: light enough to page through 100,000 users."""

    id: str
    user_name: str
    display_name: str | None
    active: bool | None  # None: unassigned, no access (see domain.active)
    roles: tuple[RoleSource, ...]
    last_modified: datetime


@dataclass(frozen=True)
class JobHealth:
    """The latest run of one worker job, and when it last succeeded."""

    job: str
    last_run: JobRunRecord | None
    last_ok: datetime | None  # start of the latest successful run
    last_error: JobRunRecord | None  # the latest failed run, if any


@dataclass(frozen=True)
class WorkerHealth:
    """Which worker process leads, until when, and how each job has been doing."""

    leader: str | None  # holder id "host:pid:nonce", None when no live worker leads
    lease_expires: datetime | None
    jobs: tuple[JobHealth, ...]


@dataclass(frozen=True)
class ActivityStats:
    """Counts of recorded requests since a moment (for a summary line above the log)."""

    since: datetime
    total: int
    errors: int  # status >= 400
    by_status: tuple[tuple[int, int], ...]  # (status, count), most frequent first
    last_at: datetime | None


@dataclass(frozen=True)
class TokenUse:
    """When an active token was last used (None: never), for the age metric."""

    name: str
    created: datetime
    last_used: datetime | None
    stale: bool


@dataclass(frozen=True)
class MonitoringSnapshot:
    """What a metrics scrape reads from the database: shared state no process keeps in
    memory (worker health, the lease holder, tokens' Last Used, deactivations so far)."""

    at: datetime
    worker: WorkerHealth
    run_counts: tuple[tuple[str, str, int], ...]  # job, outcome, runs kept in the history
    tokens: tuple[TokenUse, ...]
    deactivations: tuple[tuple[str, int], ...]  # audit actor, users deactivated
