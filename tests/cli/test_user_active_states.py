"""``user show`` and ``user list`` tell an unassigned ``active`` apart, on SQLite and
PostgreSQL: a user whose IdP removed ``active`` shows as unassigned and has no access."""

from __future__ import annotations

import json

from api.scim.mapping import user_input_from_scim
from store.context import Store
from store.services.users import create_user, modify_user
from tests.cli import test_identity_commands
from tests.cli.test_identity_commands import Run

cli, live = test_identity_commands.cli, test_identity_commands.live  # fixtures
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def _unassigned(store: Store, user_name: str) -> str:
    """A user whose IdP removed ``active`` (a PATCH result without it)."""
    body = {"schemas": [CORE], "userName": user_name}
    user = create_user(store, user_input_from_scim(body), "token:test")
    without = user_input_from_scim(body, "patch")
    assert modify_user(store, user.id, lambda _current: without, "token:test").active is None
    return user.id


def test_user_show_and_list_say_unassigned(cli: Run, live: Store) -> None:
    _unassigned(live, "jane@example.com")
    code, out, _ = cli("user", "show", "jane@example.com")
    assert code == 0 and "jane@example.com  (unassigned)" in out
    code, out, _ = cli("user", "show", "jane@example.com", "--json")
    assert code == 0 and json.loads(out)["active"] is None
    code, out, _ = cli("user", "list")
    assert code == 0 and "unassigned" in out
    code, out, _ = cli("session", "start", "jane@example.com")
    assert code != 0
