"""The closed vocabularies are string enums whose values are exactly the strings the database
already holds: changing one would strand stored rows, so it would need a migration."""

from __future__ import annotations

from store.domain.enums import AuditAction, GrantSource, JobOutcome, SessionEnd, UserStatus


def test_stored_values_are_unchanged() -> None:
    assert [s.value for s in GrantSource] == ["idp", "manual", "suspended"]
    assert [s.value for s in UserStatus] == ["active", "inactive"]
    assert [s.value for s in JobOutcome] == ["running", "ok", "error", "abandoned"]
    assert [s.value for s in SessionEnd] == [
        "ended", "expired", "idle", "user deleted", "user inactive"
    ]  # fmt: skip
    assert {a.value for a in AuditAction} == {
        "user.created", "user.updated", "user.deleted", "user.renamed", "user.deactivated",
        "user.reactivated", "user.held", "user.hold_kept", "user.hold_released",
        "group.created", "group.updated", "group.deleted", "role.created", "role.granted",
        "role.revoked", "roles.recomputed", "mapping.set", "mapping.removed",
        "session.started", "session.ended", "sessions.ended", "token.issued", "token.revoked",
        "token.rate_limit", "token.stale", "token.fresh", "connection.created",
        "connection.renamed", "connection.removed", "connection.transferred",
        "connection.domains_changed",
        "user.transferred", "group.transferred", "address.unlocked",
    }  # fmt: skip
    assert all(len(a.value) <= 64 for a in AuditAction)  # the column's size


def test_members_are_the_strings_rows_and_edges_compare_with() -> None:
    assert GrantSource.IDP == "idp" and f"{GrantSource.SUSPENDED}" == "suspended"
    assert str(AuditAction.USER_RENAMED) == "user.renamed"
    assert GrantSource("manual") is GrantSource.MANUAL
