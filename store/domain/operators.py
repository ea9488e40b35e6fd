"""Who an operator is, for the audit history: a rule on facts the caller looks up.

The login comes from the process's real uid, never from ``$LOGNAME`` or ``$USER``, which
anyone sets freely. ``sudo -u <service account>`` changes the real uid, so the person behind
it is named by ``SUDO_USER`` instead, but only when sudo's story holds together:

* ``SUDO_UID`` is the uid of ``SUDO_USER`` in the password database, and
* the process runs as another account than that uid (sudo switched users), and
* the terminal the command runs on belongs to ``SUDO_UID`` (sudo keeps the caller's
  terminal; someone who merely exported ``SUDO_USER=ciso`` in their own shell owns their
  own terminal and runs as themself, so the variables are ignored).

Without a terminal (a script under sudo) the process's own account is recorded: failing
closed, never a name the caller chose. Pure: the caller passes the environment and lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

UNKNOWN = "unknown"


def operator_login(
    environ: Mapping[str, str],
    real_uid: int,
    tty_owner: int | None,
    uid_of: Callable[[str], int | None],
    name_of: Callable[[int], str | None],
) -> str:
    """The login to record for this process (see the module docstring for the rule)."""
    own = name_of(real_uid) or f"uid:{real_uid}"
    sudo_user = environ.get("SUDO_USER", "")
    sudo_uid_text = environ.get("SUDO_UID", "")
    if not sudo_user or not sudo_uid_text.isdigit():
        return own
    sudo_uid = int(sudo_uid_text)
    consistent = uid_of(sudo_user) == sudo_uid
    switched = real_uid != sudo_uid
    on_callers_terminal = tty_owner is not None and tty_owner == sudo_uid
    return sudo_user if consistent and switched and on_callers_terminal else own
