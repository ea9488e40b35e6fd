"""Why a database cannot be opened, said so an operator knows what to do.

Checks this OS user's access to a SQLite file and its -wal/-shm companions before SQLite
tries (and fails with "unable to open database file"), and turns driver errors on opening
(a closed port, a missing database or role, no schema yet) into one-line store errors that
name the file or server. Never creates anything.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path
from typing import Any

from store.errors import AccessDenied, NoDatabase, StoreError, Unavailable


def check_sqlite_access(filename: str) -> None:
    """Fail with a readable error unless this OS user can use the database: read and write
    the file and its -wal/-shm companions, and create them in its directory."""
    path = Path(filename)
    if not path.exists():
        if not path.parent.exists() or os.access(path.parent, os.X_OK):
            raise NoDatabase(f"no database at {path}; run `trident-scim db init`")
        raise denied(path.parent, "enter")
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists() and not os.access(candidate, os.R_OK | os.W_OK):
            raise denied(candidate, "read and write")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise denied(path.parent, "create the -wal and -shm files in")


def denied(path: Path, verb: str) -> AccessDenied:
    try:
        info = path.stat()
        owner = f" (owner {_user_name(info.st_uid)}, group {_group_name(info.st_gid)}, "
        owner += f"mode {stat.S_IMODE(info.st_mode):04o})"
        group = _group_name(info.st_gid)
    except OSError:
        owner, group = "", "the operators' group"
    return AccessDenied(
        f"permission denied: {_user_name(os.getuid())} cannot {verb} {path}{owner}; "
        f"ask an administrator to add you to {group} (usermod -aG {group} "
        f"{_user_name(os.getuid())}, then log in again) or run as the service user; "
        "see README 'Operator access'"
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def open_failure(args: dict[str, Any], exc: BaseException) -> StoreError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()
    if args["provider"] == "sqlite":
        where = f"the SQLite database {args['filename']}"
    else:
        where = (
            f"PostgreSQL at {args['host']}:{args['port']} "
            f"(database {args['database']!r}, user {args['user']!r})"
        )
    lowered = first.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return NoDatabase(f"{where} has no schema yet: {first}; run `trident-scim db init`")
    if "readonly" in lowered or "permission denied" in lowered:
        return AccessDenied(f"{where}: {first}; see README 'Operator access'")
    return Unavailable(f"cannot open {where}: {first}")
