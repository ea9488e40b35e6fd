"""Deactivation racing membership changes, over HTTP against the real server on SQLite and
PostgreSQL: whatever order the requests land in, an inactive user ends with no IdP role and
no session, and no membership delta is lost (reactivation then gives exactly the roles the
final memberships map to)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from store.queries.identity import user_detail
from store.services.roles import grant_role, set_mapping
from store.services.sessions import start_session
from tests.e2e import offboarding_support
from tests.e2e.conftest import LiveServer
from tests.e2e.offboarding_support import (
    OKTA,
    Dialect,
    Idp,
    Operator,
    signed_in,
    signed_out,
)

idp, operator = offboarding_support.idp, offboarding_support.operator  # fixtures

ROUNDS = 5
OPS_PER_THREAD = 6
MAPPING = {"Engineering": "operator", "Oncall": "admin", "Platform": "operator"}
ADMIN = "operator:alice"
NAME = "racer@example.com"


def _roles(live: LiveServer) -> set[tuple[str, str]]:
    return {(r.role, r.source) for r in user_detail(live.store, NAME).roles}


def _race(live: LiveServer, user_id: str, groups: dict[str, str], round_no: int) -> set[str]:
    """One thread per group adding and removing the user while another deactivates them,
    the deactivation sent together with every thread's first op (odd rounds: the later adds
    must grant nothing) or with their last op (even rounds: no later change would repair a
    role a stale membership change left behind). Returns the groups the user must be in
    afterwards (those whose thread ended on an add)."""
    together = threading.Barrier(len(groups) + 1)
    at = 0 if round_no % 2 else OPS_PER_THREAD - 1
    statuses: list[int] = []
    lock = threading.Lock()
    final: set[str] = set()

    def churn(index: int, name: str, group_id: str) -> None:
        client = live.client(OKTA.agent)
        first = (round_no // 2 + index) % 2  # vary which op comes last
        for i in range(OPS_PER_THREAD):
            adding = (i + first) % 2 == 1
            body = (OKTA.add if adding else OKTA.remove)(group_id, name, user_id)
            if i == at:
                together.wait(30)
            reply = client.patch(f"/Groups/{group_id}", body)
            with lock:
                statuses.append(reply.status)
                if i == OPS_PER_THREAD - 1 and adding:
                    final.add(name)
        client.close()

    def deactivate() -> None:
        client = live.client(OKTA.agent)
        together.wait(30)
        reply = client.patch(f"/Users/{user_id}", OKTA.active(False))
        with lock:
            statuses.append(reply.status if reply.json["active"] is False else -1)
        client.close()

    threads = [threading.Thread(target=churn, args=(i, name, gid))
               for i, (name, gid) in enumerate(groups.items())]  # fmt: skip
    threads.append(threading.Thread(target=deactivate))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert sorted(statuses) == [200] + [204] * (len(statuses) - 1), statuses
    return final


def test_deactivation_racing_membership_changes_leaves_no_idp_role(
    live: LiveServer, idp: Callable[[Dialect], Idp], operator: Operator
) -> None:
    okta = idp(OKTA)
    for group, role in MAPPING.items():
        set_mapping(live.store, group, role, ADMIN)
    user_id = okta.create_user(NAME, "00uRACE")["id"]
    groups = {name: okta.push_group(name, user_id) for name in MAPPING}
    grant_role(live.store, NAME, "viewer", ADMIN)

    for round_no in range(ROUNDS):
        _, cookie = start_session(live.store, NAME, ADMIN)
        assert "viewer" in signed_in(live, cookie, NAME)
        final = _race(live, user_id, groups, round_no)

        detail = user_detail(live.store, NAME)
        assert detail.user.active is False and detail.active_sessions == 0
        assert _roles(live) == {("viewer", "manual")}, f"round {round_no}"
        signed_out(live, cookie)
        assert {g for g, gid in groups.items() if user_id in okta.members(gid)} == final

        okta.set_active(user_id, True)
        wanted = {(MAPPING[g], "idp") for g in final} | {("viewer", "manual")}
        assert _roles(live) == wanted, f"round {round_no}"
