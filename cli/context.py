"""What every subcommand gets: the loaded settings and a lazily opened store."""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from store.config import Settings
from store.context import Store, open_store
from store.domain.connections import clean_reference
from store.domain.operators import operator_login
from store.errors import InvalidInput


class CliError(Exception):
    """A readable failure: printed as ``error: ...`` with exit status 2, never a traceback."""


@dataclass
class CliContext:
    settings: Settings
    args: argparse.Namespace
    _store: Store | None = field(default=None, repr=False)

    def store(self, create: bool = False) -> Store:
        if self._store is None:
            self._store = open_store(self.settings, create=create)
        return self._store

    @property
    def actor(self) -> str:
        """Who an operator action is recorded as: ``operator:<login>`` (the TUI records
        the same), by ``store.domain.operators.operator_login``."""
        return f"operator:{current_login()}"

    def out(self, text: str = "") -> None:
        """Print a line to stdout now. A reader that went away (``| head``) raises
        BrokenPipeError here, once: stdout is then pointed at /dev/null so nothing else
        (e.g. the interpreter's last flush) trips on the closed pipe."""
        try:
            print(text, file=sys.stdout, flush=True)
        except BrokenPipeError:
            detach_stdout()
            raise

    def note(self, text: str) -> None:
        """A line for the person at the terminal, on stderr (stdout stays for data)."""
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def current_login() -> str:
    """This process's operator: its real uid's name, or the sudo caller's (see the rule)."""
    return operator_login(os.environ, os.getuid(), _tty_owner(), _uid_of, _name_of)


def _tty_owner() -> int | None:
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.stat(os.ttyname(fd)).st_uid
        except OSError:
            continue
    return None


def _uid_of(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _name_of(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def detach_stdout() -> None:
    """Point stdout at /dev/null (after its reader closed the pipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_user_argument(parser: argparse.ArgumentParser) -> None:
    """USER (userName in any case, or id) or ``--id ID``: the one way commands name a user."""
    parser.add_argument(
        "user_name",
        metavar="USER",
        nargs="?",
        help="userName (any case) or id; refused when it is one user's id and another's userName",
    )
    parser.add_argument("--id", dest="user_id", metavar="ID", help="address the user by id only")


def user_ref(ctx: CliContext) -> tuple[str, bool]:
    """(the argument, whether it is an id only) from ``add_user_argument``'s options."""
    name, user_id = ctx.args.user_name, ctx.args.user_id
    if (name is None) == (user_id is None):
        raise CliError("name the user once: USER or --id ID")
    return (user_id, True) if user_id is not None else (name, False)


def connection_name(value: str, option: str = "") -> str:
    """A connection name given on the command line, checked by the one rule of connection
    names before it is looked up (``clean_reference``): an empty, too long or
    control-character name is refused as such (one line, exit status 2, naming ``option``
    when given), not as unknown."""
    try:
        return clean_reference(value)
    except InvalidInput as exc:
        raise CliError(f"{option}: {exc.message}" if option else exc.message) from None


def printable_url(url: str) -> str:
    """A database URL fit to print or log: its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
