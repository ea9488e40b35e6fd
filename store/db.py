"""Persistence: the Pony entities and the database binding.

Entities never leave ``store/``: services and queries turn them into frozen records. Every
timestamp is stored as naive UTC. Nothing here holds product rules; it only describes tables.
The schema belongs to the migrations (``store.migrate``): Pony maps the tables they made and
checks at start-up that they are there, and never creates or alters one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pony.orm import (
    Database,
    Json,
    Optional,
    PrimaryKey,
    Required,
    Set,
    composite_index,
    composite_key,
)

from store.budget import install_sqlite_handler
from store.db_access import check_sqlite_access, denied, open_failure
from store.domain import limits
from store.errors import StoreError
from store.sql import PostgresProvider

log = logging.getLogger(__name__)


def define_entities(db: Database) -> None:
    """Declare every table on ``db`` (a fresh Database per bound store)."""

    class Connection(db.Entity):
        """One identity provider: its tokens authenticate as it, and the users and groups it
        creates are its own (``store.domain.connections``)."""

        _table_ = "scim_connection"
        id = PrimaryKey(int, auto=True)
        # limits.CONNECTION_NAME for new names; the column holds a token's name (0007)
        name = Required(str, limits.TOKEN_NAME)
        name_key = Required(str, limits.TOKEN_NAME, unique=True)
        kind = Optional(str, 16, nullable=True)
        # The userName domains its tokens may give users, comma-separated
        # (``domain.connections.stored_domains``); NULL: any userName.
        domains = Optional(str, nullable=True)
        # Removed: its name is free again (name_key gets "#removed#<id>"); the row stays for
        # its revoked tokens and deleted users.
        removed_at = Optional(datetime, precision=6, nullable=True)
        created_at = Required(datetime, precision=6)
        tokens = Set("ScimToken")
        users = Set("User")
        groups = Set("Group")
        mappings = Set("GroupRoleMapping")

    class User(db.Entity):
        _table_ = "scim_user"
        id = PrimaryKey(str, limits.ID)
        connection = Required(Connection, column="connection_id")
        user_name = Required(str, limits.USER_NAME)
        user_name_key = Optional(str, limits.USER_NAME, unique=True, nullable=True)
        # The client's value (RFC 7643 §3.1): not unique, indexed for filters.
        external_id = Optional(str, limits.EXTERNAL_ID, nullable=True, index=True)
        display_name = Optional(str, limits.DISPLAY_NAME, nullable=True)
        display_name_key = Optional(str, limits.DISPLAY_NAME, nullable=True, index=True)
        given_name_key = Optional(str, limits.NAME_PART, nullable=True, index=True)
        family_name_key = Optional(str, limits.NAME_PART, nullable=True, index=True)
        active = Required(bool, default=True, index=True)
        document = Required(Json)
        created = Required(datetime, precision=6, index=True)
        last_modified = Required(datetime, precision=6, index=True)
        version = Required(int, default=1)
        deleted_at = Optional(datetime, precision=6, nullable=True, index=True)
        # An operator's hold (``user deactivate``): access stays off whatever the IdP sends
        # until an operator reactivates; idp_active is the IdP's last word meanwhile.
        held_at = Optional(datetime, precision=6, nullable=True)
        held_by = Optional(str, limits.ACTOR, nullable=True)
        hold_reason = Optional(str, limits.HOLD_REASON, nullable=True)
        idp_active = Optional(bool, nullable=True)
        emails = Set("UserEmail", cascade_delete=True)
        memberships = Set("Membership", cascade_delete=True)
        role_assignments = Set("RoleAssignment", cascade_delete=True)
        sessions = Set("Session", cascade_delete=True)
        # Live users in the default listing order (the filter compiler orders by these three):
        # deep pages of a 100,000-user listing walk this index alone, on both backends.
        composite_index(deleted_at, created, id)
        # The operators' user list: a page of live users in userName order is a short walk of
        # this index, not a sort of the whole table (display_name_key is left out so an entry
        # stays within PostgreSQL's btree row limit for long multi-byte names).
        composite_index(deleted_at, user_name_key)
        # One connection's live users in the default listing order (a token's listing).
        composite_index(connection, deleted_at, created, id)

    class UserEmail(db.Entity):
        _table_ = "scim_user_email"
        id = PrimaryKey(int, auto=True)
        user = Required(User, index=True)
        value = Required(str, limits.EMAIL)
        value_key = Required(str, limits.EMAIL, index=True)
        type = Optional(str, limits.EMAIL_TYPE, nullable=True)
        primary = Required(bool, default=False)

    class Group(db.Entity):
        _table_ = "scim_group"
        id = PrimaryKey(str, limits.ID)
        connection = Required(Connection, column="connection_id")
        display_name = Required(str, limits.DISPLAY_NAME)
        # unique within a connection (the composite key below)
        display_name_key = Required(str, limits.DISPLAY_NAME, index=True)
        external_id = Optional(
            str, limits.EXTERNAL_ID, nullable=True, index=True
        )  # not unique: the client's
        document = Required(Json)
        created = Required(datetime, precision=6, index=True)
        last_modified = Required(datetime, precision=6, index=True)
        version = Required(int, default=1)
        member_count = Required(int, default=0)
        memberships = Set("Membership", cascade_delete=True)
        composite_key(connection, display_name_key)
        composite_index(connection, created, id)

    class Membership(db.Entity):
        _table_ = "scim_membership"
        group = Required(Group)
        user = Required(User)
        created = Required(datetime, precision=6)
        PrimaryKey(group, user)
        composite_index(user, group)

    class Role(db.Entity):
        _table_ = "control_role"
        name = PrimaryKey(str, limits.ROLE_NAME)
        description = Optional(str, limits.ROLE_DESCRIPTION)
        created = Required(datetime, precision=6)
        mappings = Set("GroupRoleMapping", cascade_delete=True)
        assignments = Set("RoleAssignment", cascade_delete=True)

    class GroupRoleMapping(db.Entity):
        _table_ = "sso_group_role_mapping"
        id = PrimaryKey(int, auto=True)
        group_name = Required(str, limits.DISPLAY_NAME)
        group_name_key = Required(str, limits.DISPLAY_NAME, index=True)
        role = Required(Role)
        created = Required(datetime, precision=6)
        created_by = Required(str, limits.ACTOR)
        # The groups of this connection only; None: that group name in any connection.
        connection = Optional(Connection, column="connection_id", nullable=True, index=True)
        composite_key(connection, group_name_key, role)

    class RoleAssignment(db.Entity):
        _table_ = "control_role_assignment"
        id = PrimaryKey(int, auto=True)
        user = Required(User)
        role = Required(Role)
        source = Required(str, 16)  # "idp", "manual" or "suspended" (after a rename)
        via_group = Optional(
            str, limits.DISPLAY_NAME, default=""
        )  # folded IdP group name; "" for manual
        created = Required(datetime, precision=6)
        granted_by = Required(str, limits.ACTOR)
        composite_key(user, role, source, via_group)

    class Session(db.Entity):
        _table_ = "control_session"
        id = PrimaryKey(int, auto=True)
        secret_hash = Required(str, limits.SECRET_HASH, unique=True)
        user = Required(User, index=True)
        created = Required(datetime, precision=6)
        last_seen = Required(datetime, precision=6)
        expires_at = Required(datetime, precision=6, index=True)
        ended_at = Optional(datetime, precision=6, nullable=True, index=True)
        end_reason = Optional(str, limits.SESSION_END, nullable=True)
        client_address = Optional(str, limits.ADDRESS, nullable=True)  # an IP address only (0008)
        user_agent = Optional(str, limits.USER_AGENT, nullable=True)

    class ScimToken(db.Entity):
        _table_ = "scim_token"
        id = PrimaryKey(int, auto=True)
        name = Required(str, limits.TOKEN_NAME)
        name_key = Required(str, limits.TOKEN_NAME, unique=True)
        prefix = Required(str, limits.TOKEN_PREFIX)
        secret_hash = Required(str, limits.SECRET_HASH, unique=True)
        created = Required(datetime, precision=6)
        created_by = Required(str, limits.ACTOR)
        last_used = Optional(datetime, precision=6, nullable=True)
        revoked_at = Optional(datetime, precision=6, nullable=True)
        revoked_by = Optional(str, limits.ACTOR, nullable=True)
        rate_limit = Optional(int, nullable=True)  # requests per minute; None = global default
        stale_since = Optional(datetime, precision=6, nullable=True)
        connection = Required(Connection, column="connection_id", index=True)

    class RateBucket(db.Entity):
        _table_ = "rate_bucket"
        key = PrimaryKey(str, limits.RATE_KEY)
        tat = Required(float)  # GCRA theoretical arrival time, epoch seconds
        step = Optional(float, nullable=True)  # the slot length the TAT is counted in (0011)

    class AuditEvent(db.Entity):
        _table_ = "audit_event"
        id = PrimaryKey(int, auto=True)
        at = Required(datetime, precision=6, index=True)
        actor = Required(str, limits.ACTOR)
        action = Required(str, limits.AUDIT_ACTION)
        target_type = Required(str, 32)
        target_id = Required(str, limits.AUDIT_TARGET_ID)
        target_name = Optional(str, limits.AUDIT_TARGET_NAME)
        before = Optional(Json, nullable=True)
        after = Optional(Json, nullable=True)
        detail = Optional(str, limits.DETAIL)
        composite_index(target_type, target_id, at)

    class Activity(db.Entity):
        _table_ = "request_activity"
        id = PrimaryKey(int, auto=True)
        at = Required(datetime, precision=6, index=True)
        token_id = Optional(int, nullable=True)
        token_name = Optional(str, limits.TOKEN_NAME)
        client = Optional(str, limits.CLIENT)
        method = Required(str, limits.REQUEST_METHOD)
        path = Required(str, limits.REQUEST_PATH)
        query = Optional(str, limits.REQUEST_QUERY)
        status = Required(int, index=True)
        latency_ms = Required(float)
        scim_type = Optional(str, limits.SCIM_TYPE)
        detail = Optional(str, limits.DETAIL)
        user_agent = Optional(str, limits.USER_AGENT)
        hits = Required(int, default=1)  # requests this row stands for (aggregated refusals)
        # the token's connection, by name
        connection = Optional(str, limits.TOKEN_NAME, nullable=True)
        composite_index(token_id, at)
        composite_index(connection, at)

    class JobRun(db.Entity):
        _table_ = "worker_job_run"
        id = PrimaryKey(int, auto=True)
        job = Required(str, limits.JOB_NAME)
        started = Required(datetime, precision=6)
        finished = Optional(datetime, precision=6, nullable=True)
        outcome = Required(str, 16)  # running | ok | error
        changed = Required(int, default=0)
        summary = Optional(str, limits.DETAIL)
        error = Optional(str, limits.JOB_ERROR)
        holder = Required(str, limits.HOLDER)
        composite_index(job, started)

    class Lease(db.Entity):
        _table_ = "worker_lease"
        name = PrimaryKey(str, limits.JOB_NAME)
        holder = Required(str, limits.HOLDER)
        expires_at = Required(float)

    class PendingRecompute(db.Entity):
        """A batched role recomputation not yet finished (``services.recompute_queue``)."""

        _table_ = "role_recompute_pending"
        id = PrimaryKey(int, auto=True)
        group_name_key = Required(str, limits.DISPLAY_NAME)  # an IdP group key
        cause = Required(Json)
        actor = Required(str, limits.ACTOR)
        after_user = Optional(str, limits.ID, default="")  # the last user id a committed batch did
        done = Required(int, default=0)
        changed = Required(int, default=0)
        created = Required(datetime, precision=6)
        group_id = Optional(str, limits.ID, nullable=True, index=True)  # a group's members move
        members = Optional(Json, nullable=True)  # {"remove": [...], "add": [...], "delete": bool}

    class SchemaMeta(db.Entity):
        _table_ = "schema_meta"
        key = PrimaryKey(str, 64)
        value = Required(str, 256)


class DatabaseUrlError(ValueError):
    """The ``[database] url`` is not a supported SQLite or PostgreSQL address."""


def parse_database_url(url: str) -> dict[str, Any]:
    """Turn a database URL into Pony ``bind`` keyword arguments."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = unquote(url[len("sqlite://") :])
        if raw.startswith("/"):
            raw = raw[1:]  # sqlite:///rel.db -> rel.db ; sqlite:////abs.db -> /abs.db
        if not raw:
            raise DatabaseUrlError("sqlite URL needs a file path, e.g. sqlite:///trident-scim.db")
        if raw == ":memory:":
            raise DatabaseUrlError("an in-memory SQLite database cannot be shared; use a file")
        return {"provider": "sqlite", "filename": str(Path(raw).absolute()), "create_db": True}
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.path.strip("/"):
            raise DatabaseUrlError("postgresql URL needs a database name")
        args: dict[str, Any] = {
            "provider": "postgres",
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "database": unquote(parts.path.strip("/")),
        }
        if parts.password:
            args["password"] = unquote(parts.password)
        return args
    raise DatabaseUrlError(
        f"unsupported database URL scheme {parts.scheme!r}: use sqlite:/// or postgresql://"
    )


def open_database(url: str, busy_timeout_ms: int = 10_000) -> Database:
    """Bind a new Database with every entity mapped onto the tables the migrations made.

    Nothing is created here: a missing SQLite file or schema is ``NoDatabase``, a file this OS
    user may not use ``AccessDenied``, an unreachable or refusing PostgreSQL ``Unavailable``,
    each with a one-line message saying what to do."""
    args = parse_database_url(url)
    if args["provider"] == "sqlite":
        check_sqlite_access(args["filename"])
    try:
        return _bind(args, busy_timeout_ms)
    except StoreError:
        raise
    except Exception as exc:  # driver and Pony errors: unreachable, refused, no schema
        raise open_failure(args, exc) from None


def _bind(args: dict[str, Any], busy_timeout_ms: int) -> Database:
    db = Database()
    define_entities(db)
    if args["provider"] == "sqlite":
        args = {**args, "create_db": False}  # a read never leaves an empty file behind

        def _sqlite_pragmas(_db: Database, connection: sqlite3.Connection) -> None:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            install_sqlite_handler(connection)

        db.on_connect(provider="sqlite")(_sqlite_pragmas)

        db.bind(timeout=busy_timeout_ms / 1000, **args)
    else:
        db.bind(connect_timeout=10, **{**args, "provider": PostgresProvider})
        db.provider_name = "postgres"
    db.generate_mapping(create_tables=False, check_tables=True)
    return db


def create_private_file(filename: str, mode: int = 0o600) -> None:
    """Create a new SQLite file with ``mode`` (``[database] file_mode``: 0600 for the service
    user alone, 0660 for an operators' group), whatever the umask; SQLite gives its -wal and
    -shm files the same mode. An existing file keeps the mode its operator chose."""
    path = Path(filename)
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    except FileExistsError:  # another process created it first
        return
    except PermissionError:
        raise denied(path.parent if not path.parent.exists() else path, "create") from None
    try:
        os.fchmod(fd, mode)  # the umask (e.g. systemd's UMask=0077) must not narrow it
    finally:
        os.close(fd)


def table_names(db: Database) -> list[str]:
    return [entity._table_ for entity in db.entities.values()]
