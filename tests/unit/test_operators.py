"""The operator recorded in the audit history: the real uid's name, or the sudo caller when
sudo's variables, the password database and the terminal agree."""

from __future__ import annotations

import pytest

from store.domain.operators import operator_login

USERS = {"alice": 1001, "ciso": 1002, "trident-scim": 998, "root": 0}
NAMES = {uid: name for name, uid in USERS.items()}


def login(env: dict[str, str], real_uid: int, tty_owner: int | None) -> str:
    return operator_login(env, real_uid, tty_owner, USERS.get, NAMES.get)


SUDO_ALICE = {"SUDO_USER": "alice", "SUDO_UID": "1001"}


@pytest.mark.parametrize(
    ("env", "real_uid", "tty_owner", "expected"),
    [
        ({}, 1001, 1001, "alice"),  # an operator in the operators' group, as themself
        ({"LOGNAME": "ciso", "USER": "ciso"}, 1001, 1001, "alice"),  # never $LOGNAME/$USER
        (SUDO_ALICE, 998, 1001, "alice"),  # sudo -u trident-scim on alice's terminal
        (SUDO_ALICE, 0, 1001, "alice"),  # sudo to root
        # alice exports the variables of someone else in her own shell: ignored
        ({"SUDO_USER": "ciso", "SUDO_UID": "1002"}, 1001, 1001, "alice"),
        ({"SUDO_USER": "ciso", "SUDO_UID": "1002"}, 998, 1001, "trident-scim"),
        ({"SUDO_USER": "ciso", "SUDO_UID": "1001"}, 998, 1001, "trident-scim"),  # uid mismatch
        ({"SUDO_USER": "nobody-known", "SUDO_UID": "1001"}, 998, 1001, "trident-scim"),
        ({"SUDO_USER": "alice", "SUDO_UID": "x"}, 998, 1001, "trident-scim"),
        (SUDO_ALICE, 998, None, "trident-scim"),  # no terminal (a script): fail closed
        (SUDO_ALICE, 1001, 1001, "alice"),  # sudo -u alice by alice: herself anyway
        ({}, 4242, None, "uid:4242"),  # a uid without a name
    ],
)
def test_operator_login(
    env: dict[str, str], real_uid: int, tty_owner: int | None, expected: str
) -> None:
    assert login(env, real_uid, tty_owner) == expected
