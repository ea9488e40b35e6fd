"""Session validity has one definition (``sessions.invalid_reason``) and one SQL rendering
(``sessions.sql_invalid``, used by the expiry sweep and the user's session listing): over
stored rows, on both databases, both give the same answer, boundaries included."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pony.orm import db_session, flush, rollback

from store.context import Store
from store.domain import sessions
from store.queries.filtering import fetch_rows, sql_timestamp
from tests.store.identity_factories import make_user

NOW = datetime(2026, 11, 29, 12, 0, 0, 123456)
TICK = timedelta(microseconds=1)
ADMIN = "operator:alice"


def _cases() -> list[tuple[sessions.SessionState, timedelta | None, bool]]:
    """(state, idle timeout, held) with times on and either side of each boundary."""
    rng = random.Random(20261129)
    cases = []
    for _ in range(400):
        idle = rng.choice([None, timedelta(minutes=30), timedelta(minutes=1)])
        lifetime_end = NOW + rng.choice(
            [-TICK, timedelta(0), TICK, timedelta(seconds=rng.uniform(-7200, 7200))]
        )
        idle_edge = NOW - (idle or timedelta(minutes=30))
        last_seen = rng.choice(
            [
                idle_edge - TICK,
                idle_edge,
                idle_edge + TICK,
                NOW,
                NOW - timedelta(seconds=rng.uniform(0, 7200)),
            ]
        )
        ended = rng.choice([None, None, None, NOW - timedelta(hours=1)])
        deleted = rng.choice([None, None, None, NOW - timedelta(minutes=5)])
        held = rng.random() < 0.15
        active = False if held else rng.random() < 0.8
        state = sessions.SessionState(ended, lifetime_end, last_seen, deleted, active)
        cases.append((state, idle, held))
    return cases


def test_sql_rendering_judges_stored_sessions_like_the_rule(store: Store) -> None:
    user_id = make_user(store, "jane")
    condition = sessions.sql_invalid("s", "u", "$now", "$cut")
    sql = (
        f"SELECT CASE WHEN {condition} THEN 1 ELSE 0 END "
        'FROM "control_session" s JOIN "scim_user" u ON u."id" = s."user" WHERE s."id" = $id'
    )
    disagreements = []
    reasons = set()
    with db_session:
        user = store.db.User[user_id]
        session = store.db.Session(
            secret_hash="x" * 64, user=user, created=NOW, last_seen=NOW, expires_at=NOW
        )
        for state, idle, held in _cases():
            session.ended_at, session.expires_at = state.ended_at, state.expires_at
            session.last_seen = state.last_seen
            user.deleted_at, user.active = state.user_deleted_at, state.user_active
            user.held_at, user.held_by = (NOW, ADMIN) if held else (None, None)
            flush()
            params = {
                "id": session.id,
                "now": sql_timestamp(store, NOW),
                "cut": sql_timestamp(store, sessions.idle_cut(NOW, idle)),
            }
            ((invalid,),) = fetch_rows(store, sql, params)
            reason = sessions.invalid_reason(state, NOW, idle)
            reasons.add(reason)
            if bool(invalid) != bool(reason):
                disagreements.append((state, idle, reason, invalid))
        rollback()
    assert not disagreements, disagreements[:3]
    assert reasons == {"", "ended", "expired", "idle", "user deleted", "user inactive"}


def test_the_rule_at_its_boundaries() -> None:
    idle = timedelta(minutes=30)
    live = sessions.SessionState(None, NOW + TICK, NOW - idle + TICK, None, True)
    assert sessions.invalid_reason(live, NOW, idle) == ""
    at_lifetime = sessions.SessionState(None, NOW, NOW, None, True)
    assert sessions.invalid_reason(at_lifetime, NOW, idle) == "expired"
    at_idle = sessions.SessionState(None, NOW + idle, NOW - idle, None, True)
    assert sessions.invalid_reason(at_idle, NOW, idle) == "idle"
    assert sessions.invalid_reason(at_idle, NOW, None) == ""  # idle expiry switched off
    assert sessions.idle_timeout(0) is None and sessions.idle_timeout(5) == timedelta(minutes=5)
