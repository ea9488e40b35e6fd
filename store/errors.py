"""Errors the use cases raise. Each edge maps them to its own language (SCIM error, notice)."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every expected failure of a use case; never a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    """The addressed user, group, token, role or mapping does not exist (or was deleted)."""


class Ambiguous(StoreError):
    """An operator's argument names two different users (one's id, another's userName)."""


class Conflict(StoreError):
    """A uniqueness rule would break (userName, externalId, group name, token name)."""

    def __init__(self, message: str, attribute: str = "") -> None:
        super().__init__(message)
        self.attribute = attribute


class Revoked(StoreError):
    """The caller's credential stopped being valid while its request ran: its token's IdP
    connection was removed after the request authenticated."""


class PreconditionFailed(StoreError):
    """The caller's expected version (If-Match) is not the current one."""


class InvalidInput(StoreError):
    """A value breaks a domain rule (empty userName, unknown role, bad rate limit...)."""

    def __init__(self, message: str, attribute: str = "") -> None:
        super().__init__(message)
        self.attribute = attribute


class Unavailable(StoreError):
    """The database cannot be reached or stayed locked past the busy timeout."""

    def __init__(self, message: str, cause: str = "unreachable") -> None:
        super().__init__(message)
        self.cause = cause  # "unreachable", "locked", "disk full" or "read-only"


class NoDatabase(StoreError):
    """The configured database has not been created (no SQLite file, or no schema yet)."""


class AccessDenied(StoreError):
    """This OS user may not read or write a file the database needs; the message names the
    file and what to do."""
