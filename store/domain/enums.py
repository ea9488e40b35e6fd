"""The service's closed vocabularies, as string enums.

Each member is the very string the database stores and the CLI, TUI and ``--json`` show
(``StrEnum``: ``GrantSource.IDP == "idp"``), so rows written before these types existed read
the same and no migration is needed. Code names a member, never the bare string. Pure.
"""

from __future__ import annotations

from enum import StrEnum


class GrantSource(StrEnum):
    """Where a user's role comes from (``control_role_assignment.source``)."""

    IDP = "idp"  # an IdP group the user is in is mapped to the role
    MANUAL = "manual"  # an operator granted it
    SUSPENDED = "suspended"  # a manual grant held back after a rename, until confirmed


class UserStatus(StrEnum):
    """The access a user has, as operators filter by it."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class SessionEnd(StrEnum):
    """Why a Control session no longer lets its holder in."""

    ENDED = "ended"
    EXPIRED = "expired"
    IDLE = "idle"
    USER_DELETED = "user deleted"
    USER_INACTIVE = "user inactive"


class JobOutcome(StrEnum):
    """How a worker job's run went (``job_run.outcome``)."""

    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    ABANDONED = "abandoned"  # its worker stopped before finishing it


class AuditAction(StrEnum):
    """What an audit event records (``audit_event.action``)."""

    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    USER_RENAMED = "user.renamed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_HELD = "user.held"
    USER_HOLD_KEPT = "user.hold_kept"
    USER_HOLD_RELEASED = "user.hold_released"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    ROLE_CREATED = "role.created"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    ROLES_RECOMPUTED = "roles.recomputed"
    MAPPING_SET = "mapping.set"
    MAPPING_REMOVED = "mapping.removed"
    SESSION_STARTED = "session.started"
    SESSION_ENDED = "session.ended"
    SESSIONS_ENDED = "sessions.ended"  # all of a user's sessions ended (operator, or a rename)
    TOKEN_ISSUED = "token.issued"  # noqa: S105  (an action name)
    TOKEN_REVOKED = "token.revoked"  # noqa: S105  (an action name)
    TOKEN_RATE_LIMIT = "token.rate_limit"  # noqa: S105  (an action name)
    TOKEN_STALE = "token.stale"  # noqa: S105  (an action name)
    TOKEN_FRESH = "token.fresh"  # noqa: S105  (an action name)
    CONNECTION_CREATED = "connection.created"
    CONNECTION_RENAMED = "connection.renamed"
    CONNECTION_REMOVED = "connection.removed"
    CONNECTION_DOMAINS_CHANGED = "connection.domains_changed"  # its allowed userName domains
    CONNECTION_TRANSFERRED = "connection.transferred"  # one event per transfer, then:
    USER_TRANSFERRED = "user.transferred"  # each user it moved
    GROUP_TRANSFERRED = "group.transferred"  # each group it moved
    ADDRESS_UNLOCKED = "address.unlocked"  # failed authentications of an address forgiven
