"""An IdP can create a user whose userName is another user's id (ids are visible to any
token). An operator command given that id must not act on the look-alike: it refuses, names
both users, and changes nothing (both backends, the real CLI in-process)."""

from __future__ import annotations

import pytest

from store.context import Store
from store.queries.identity import user_detail
from store.services.roles import ensure_default_roles
from tests.cli.conftest import Run
from tests.store.identity_factories import make_user, roles_of


@pytest.fixture
def decoy(live: Store) -> tuple[str, str]:
    """(victim id, decoy id): the decoy's userName is the victim's id."""
    ensure_default_roles(live)
    victim = make_user(live, "victim@example.com")
    return victim, make_user(live, victim)


@pytest.mark.parametrize(
    "command",
    [("role", "grant", "{id}", "admin"), ("user", "deactivate", "{id}"),
     ("user", "show", "{id}"), ("session", "start", "{id}")],
)  # fmt: skip
def test_a_command_given_an_id_that_is_also_a_user_name_refuses(
    cli: Run, live: Store, decoy: tuple[str, str], command: tuple[str, ...]
) -> None:
    victim, impostor = decoy
    code, out, err = cli(*(part.format(id=victim) for part in command))
    assert code != 0 and out == "", out
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "victim@example.com" in err and impostor in err, err
    for user_id in (victim, impostor):
        detail = user_detail(live, "victim@example.com" if user_id == victim else impostor)
        assert detail.user.active is True and detail.active_sessions == 0
        assert roles_of(live, user_id) == set()


def test_the_victim_is_still_reached_by_its_user_name(
    cli: Run, live: Store, decoy: tuple[str, str]
) -> None:
    victim, impostor = decoy
    code, out, _ = cli("role", "grant", "victim@example.com", "admin")
    assert code == 0, out
    assert roles_of(live, victim) == {("admin", "manual")} and roles_of(live, impostor) == set()
