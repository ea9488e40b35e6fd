"""IdP connections in the store, on both backends: names (one-line refusals for empty, too
long, invisible-character and unknown names), tokens issued for a connection or making one,
rotation, the list operators read (counts, Last Used, status), rename, removal and transfer
(refusals, dry run, all or nothing, audit)."""

from __future__ import annotations

import pytest
from pony.orm import db_session

from store.context import Store
from store.domain.scope import Scope
from store.errors import Conflict, InvalidInput, NotFound
from store.queries.identity import audit_events, user_roles
from store.queries.tokens import list_tokens
from store.queries.users import get_user, list_users
from store.records import GroupInput, UserInput
from store.services.connections import (
    create_connection,
    get_connection,
    list_connections,
    remove_connection,
    rename_connection,
    transfer_connection,
)
from store.services.groups import create_group
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.tokens import authenticate, issue_token, revoke_token, rotate_token
from store.services.users import create_user
from tests.support import FakeClock

OP = "operator:test"


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


def _scope(store: Store, name: str) -> Scope:
    return Scope(get_connection(store, name).id)


def _user(store: Store, name: str, connection: str) -> str:
    return create_user(store, UserInput(name, {}), "t", scope=_scope(store, connection)).id


def _group(store: Store, name: str, connection: str, members: tuple[str, ...] = ()) -> str:
    data = GroupInput(display_name=name, document={})
    return create_group(store, data, members, "t", scope=_scope(store, connection)).id


# ---- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 65, "at most 64 characters"),
        ("\ufdfa" * 64, "at most 64 characters"),  # 64 characters that fold to 1,152
        ("Okta\n", None),  # trimmed: accepted as "Okta"
        ("Ok\x1bta", "control or invisible"),
        ("Okta\u202e", "control or invisible"),
        ("O\u200bkta", "control or invisible"),
        ("Ok\u3164ta", "control or invisible"),
    ],
)
def test_connection_names_are_checked_with_one_line_errors(
    store: Store, name: str, message: str | None
) -> None:
    if message is None:
        assert create_connection(store, name, None, OP).name == name.strip()
        return
    with pytest.raises(InvalidInput) as caught:
        create_connection(store, name, None, OP)
    assert message in caught.value.message and "\n" not in caught.value.message
    assert list_connections(store) == []


def test_names_are_nfc_unique_any_case_and_kinds_are_known(store: Store) -> None:
    made = create_connection(store, "Entre\u0301e", "Okta", OP)  # decomposed é, kind any case
    assert made.name == "Entr\u00e9e" and made.kind == "okta"
    with pytest.raises(InvalidInput, match="already exists"):
        create_connection(store, "ENTRÉE", None, OP)
    with pytest.raises(InvalidInput, match="unknown connection kind"):
        create_connection(store, "Other", "google", OP)
    assert [c.name for c in list_connections(store)] == ["Entrée"]


def test_unknown_connections_are_not_found_with_a_suggestion(store: Store) -> None:
    create_connection(store, "Okta", None, OP)
    with pytest.raises(NotFound) as caught:
        get_connection(store, "Okat")
    assert "no connection named 'Okat'" in caught.value.message and "Okta" in caught.value.message
    with pytest.raises(NotFound):
        issue_token(store, "t", OP, connection="Entra")
    with pytest.raises(NotFound):
        rename_connection(store, "Entra", "X", OP)
    with pytest.raises(InvalidInput, match="required"):
        get_connection(store, " ")


# ---- tokens ---------------------------------------------------------------------------------


def test_a_token_without_connection_makes_one_of_its_name_and_with_one_joins_it(
    store: Store,
) -> None:
    first = issue_token(store, "Okta", OP)
    assert first.record.connection == "Okta"
    with pytest.raises(Conflict, match="rotate"):
        issue_token(store, "OKTA", OP)  # token names are unique among active tokens
    create_connection(store, "Entra", None, OP)
    with pytest.raises(InvalidInput, match="--connection 'Entra'"):
        issue_token(store, "entra", OP)  # a connection of that name exists: name it
    second = issue_token(store, "Okta backup", OP, connection="okta")
    assert second.record.connection == "Okta"
    for secret in (first.secret, second.secret):
        result = authenticate(store, bearer(secret), "10.0.0.1")
        assert result.ok and result.connection_name == "Okta"
        assert result.connection_id == get_connection(store, "Okta").id
    assert [t.name for t in get_connection(store, "Okta").tokens] == ["Okta", "Okta backup"]


def test_rotation_issues_the_next_free_name_and_keeps_the_old_token(store: Store) -> None:
    old = issue_token(store, "Okta", OP, rate_limit=500)
    two = rotate_token(store, "okta", OP)
    assert (two.record.name, two.record.connection, two.record.rate_limit) == (
        "Okta-2",
        "Okta",
        500,
    )
    revoke_token(store, "Okta-2", OP)
    three = rotate_token(store, "Okta", OP)
    assert three.record.name == "Okta-3"  # a revoked token's name is not reused
    for secret in (old.secret, three.secret):
        assert authenticate(store, bearer(secret), "10.0.0.1").ok
    with pytest.raises(NotFound):
        rotate_token(store, "Okta-2", OP)  # revoked
    events = [e for e in audit_events(store, "token") if e.action == "token.issued"]
    assert "rotation of token 'Okta'" in events[0].detail


def _named_as_an_upgrade_did(store: Store, connection: str, name: str) -> None:
    """Give a connection a name only an upgrade gives (0.1.0 token names had up to 128
    characters, and 0007 named each connection after its tokens)."""
    from store.domain.names import fold

    with db_session:
        row = store.db.Connection.get(name_key=fold(connection))
        row.name, row.name_key = name, fold(name)


@pytest.mark.parametrize("length", [127, 128])
def test_a_rotation_whose_name_would_be_too_long_is_refused_whole_with_one_line(
    store: Store, length: int
) -> None:
    issue_token(store, "Legacy", OP)
    long = "L" * length
    _named_as_an_upgrade_did(store, "Legacy", long)
    tokens, events = list_tokens(store), audit_events(store, "token")
    with pytest.raises(InvalidInput) as refused:
        rotate_token(store, "Legacy", OP)
    message = refused.value.message
    assert (
        message.startswith("a rotated token is named after its connection") and "\n" not in message
    )
    assert "rename the connection" in message and "--connection" in message
    assert long not in message and "L" * 40 + "…-2'" in message  # the name shown shortened
    assert list_tokens(store) == tokens and audit_events(store, "token") == events


def test_a_connection_name_just_short_enough_still_rotates(store: Store) -> None:
    issue_token(store, "Legacy", OP)
    _named_as_an_upgrade_did(store, "Legacy", "L" * 126)
    assert rotate_token(store, "Legacy", OP).record.name == "L" * 126 + "-2"
    create_connection(store, "\ufdfa" * 10, None, OP)  # folds to 180: within the key's room
    issue_token(store, "Wide", OP, connection="\ufdfa" * 10)
    assert rotate_token(store, "Wide", OP).record.name == "\ufdfa" * 10 + "-2"


# ---- the list -------------------------------------------------------------------------------


def test_the_list_counts_owned_resources_and_derives_last_used_and_status(
    store: Store, clock: FakeClock
) -> None:
    hours = store.settings.worker.stale_after_hours
    create_connection(store, "Empty", None, OP)
    okta = issue_token(store, "Okta", OP)
    issue_token(store, "Okta spare", OP, connection="Okta")
    ann = _user(store, "ann@corp", "Okta")
    _user(store, "bob@corp", "Okta")
    _group(store, "Ops", "Okta", (ann,))
    clock.advance(minutes=5)
    assert authenticate(store, bearer(okta.secret), "10.0.0.1").ok
    used = clock.now

    found = {c.name: c for c in list_connections(store)}
    assert list(found) == ["Empty", "Okta"]
    assert found["Empty"].status == "no tokens" and found["Empty"].last_used is None
    okta_record = found["Okta"]
    assert (okta_record.user_count, okta_record.group_count) == (2, 1)
    assert okta_record.last_used is not None and okta_record.last_used.replace(tzinfo=None) == used
    assert okta_record.status == "active"
    assert [t.status for t in okta_record.tokens] == ["active", "active"]

    clock.advance(hours=hours, minutes=-2)  # the spare was never used: stale by its creation
    record = get_connection(store, "Okta")
    assert record.status == "active"  # the used token is not quiet yet (5 minutes younger)
    assert [t.status for t in record.tokens] == ["active", "stale"]
    clock.advance(minutes=10)
    assert get_connection(store, "Okta").status == "stale"
    revoke_token(store, "Okta", OP)
    revoke_token(store, "Okta spare", OP)
    gone = get_connection(store, "Okta")
    assert gone.status == "no tokens" and gone.last_used is not None  # history kept
    assert [t.status for t in gone.tokens] == ["revoked", "revoked"]


# ---- rename and remove ----------------------------------------------------------------------


def test_rename_keeps_tokens_and_resources(store: Store) -> None:
    secret = issue_token(store, "Okta", OP).secret
    ann = _user(store, "ann@corp", "Okta")
    renamed = rename_connection(store, "okta", "Okta Workforce", OP)
    assert renamed.name == "Okta Workforce" and renamed.user_count == 1
    result = authenticate(store, bearer(secret), "10.0.0.1")
    assert result.connection_name == "Okta Workforce"
    assert get_user(store, ann, scope=Scope(result.connection_id)).id == ann
    create_connection(store, "Entra", None, OP)
    with pytest.raises(InvalidInput, match="already exists"):
        rename_connection(store, "Okta Workforce", "ENTRA", OP)
    with pytest.raises(InvalidInput, match="at most 64"):
        rename_connection(store, "Okta Workforce", "y" * 65, OP)
    assert [e.action for e in audit_events(store, "connection")][0] == "connection.created"


def test_remove_is_refused_while_owning_and_then_revokes_its_tokens(store: Store) -> None:
    ensure_default_roles(store)
    secret = issue_token(store, "Okta", OP).secret
    create_connection(store, "Entra", None, OP)
    ann = _user(store, "ann@corp", "Okta")
    set_mapping(store, "Ops", "viewer", OP, connection="Okta")
    with pytest.raises(InvalidInput) as caught:
        remove_connection(store, "Okta", OP)
    assert "owns 1 user(s) and 0 group(s)" in caught.value.message
    assert "transfer" in caught.value.message
    assert authenticate(store, bearer(secret), "10.0.0.1").ok  # nothing changed
    transfer_connection(store, "Okta", "Entra", actor=OP)
    removed = remove_connection(store, "Okta", OP)
    assert removed.name == "Okta"
    assert authenticate(store, bearer(secret), "10.0.0.1").reason == "revoked"
    assert [c.name for c in list_connections(store)] == ["Entra"]
    assert all(t.status == "revoked" for t in list_tokens(store))
    with db_session:
        assert store.db.GroupRoleMapping.select().count() == 0
    assert create_connection(store, "Okta", None, OP).user_count == 0  # the name is free
    assert get_user(store, ann).id == ann


# ---- transfer -------------------------------------------------------------------------------


def test_transfer_refusals_change_nothing(store: Store) -> None:
    for name in ("Okta", "Entra"):
        create_connection(store, name, None, OP)
    ann = _user(store, "ann@corp", "Okta")
    _group(store, "Admins", "Okta", (ann,))
    _group(store, "ADMINS", "Entra")
    with pytest.raises(InvalidInput, match="into itself"):
        transfer_connection(store, "Okta", "okta", actor=OP)
    with pytest.raises(NotFound):
        transfer_connection(store, "Okta", "JumpCloud", actor=OP)
    with pytest.raises(NotFound):
        transfer_connection(store, "JumpCloud", "Okta", actor=OP)
    with pytest.raises(InvalidInput) as caught:
        transfer_connection(store, "Okta", "Entra", actor=OP)
    assert "'Admins'" in caught.value.message and "nothing was transferred" in caught.value.message
    assert get_connection(store, "Okta").user_count == 1
    assert get_connection(store, "Entra").user_count == 0
    # users only: the clash does not matter, the groups stay
    plan = transfer_connection(store, "Okta", "Entra", users_only=True, actor=OP)
    assert [u.name for u in plan.users] == ["ann@corp"] and plan.groups == ()
    assert (
        get_connection(store, "Entra").user_count,
        get_connection(store, "Okta").group_count,
    ) == (
        1,
        1,
    )


def test_a_dry_run_lists_what_would_move_and_moves_nothing(store: Store) -> None:
    for name in ("Okta", "Entra"):
        create_connection(store, name, None, OP)
    ann, bob = _user(store, "ann@corp", "Okta"), _user(store, "bob@corp", "Okta")
    ops = _group(store, "Ops", "Okta", (ann, bob))
    before = audit_events(store, limit=500)
    plan = transfer_connection(store, "Okta", "Entra", dry_run=True, actor=OP)
    assert plan.dry_run and [u.id for u in plan.users] == [ann, bob]
    assert [g.id for g in plan.groups] == [ops] and (plan.source, plan.target) == ("Okta", "Entra")
    assert audit_events(store, limit=500) == before
    entra = _scope(store, "Entra")
    assert list_users(store, None, 1, 10, scope=entra).total == 0


def test_a_transfer_moves_users_and_groups_keeping_roles_memberships_and_history(
    store: Store, clock: FakeClock
) -> None:
    ensure_default_roles(store)
    for name in ("Okta", "Entra"):
        create_connection(store, name, None, OP)
    ann = _user(store, "ann@corp", "Okta")
    _group(store, "Ops", "Okta", (ann,))
    grant_role(store, "ann@corp", "admin", OP)
    set_mapping(store, "Ops", "viewer", OP, connection="Entra")  # Entra's Ops only
    set_mapping(store, "Ops", "operator", OP, connection="Okta")
    assert {r.role for r in user_roles(store, ann)} == {"admin", "operator"}
    history = len(audit_events(store, "user", ann, 500))
    clock.advance(seconds=1)

    plan = transfer_connection(store, "Okta", "Entra", actor=OP)
    assert [u.id for u in plan.users] == [ann] and len(plan.groups) == 1
    entra = _scope(store, "Entra")
    assert get_user(store, ann, scope=entra).groups[0].display_name == "Ops"
    with pytest.raises(NotFound):
        get_user(store, ann, scope=_scope(store, "Okta"))
    # The moved group's roles now follow Entra's mapping rows; the manual role stays.
    assert {(r.role, r.source) for r in user_roles(store, ann)} == {
        ("admin", "manual"),
        ("viewer", "idp"),
    }
    events = audit_events(store, "user", ann, 500)
    assert len(events) > history  # nothing of the history went
    assert {e.action for e in events[:3]} >= {"user.transferred", "roles.recomputed"}
    summary = audit_events(store, "connection", limit=1)[0]
    assert summary.action == "connection.transferred"
    assert summary.after["users"] == [ann] and summary.after["to"] == "Entra"


def test_operator_writes_belong_to_the_default_connection(store: Store) -> None:
    ann = create_user(store, UserInput("ann@corp", {}), OP).id
    assert [(c.name, c.user_count) for c in list_connections(store)] == [("default", 1)]
    assert get_user(store, ann, scope=_scope(store, "default")).id == ann
    stranger = create_connection(store, "Okta", None, OP)
    with pytest.raises(NotFound):
        get_user(store, ann, scope=Scope(stranger.id))
