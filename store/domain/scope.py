"""Whose users and groups a caller sees: one IdP connection's, or (operators) everyone's.

Pure. Every query and use case that reads or changes users and groups on behalf of a SCIM
token takes the token's ``Scope``; another connection's user or group is then exactly as
absent as one that never existed (not found, not listed, not counted, not a valid member).
Operators (CLI, TUI, worker) use ``OPERATOR``, which sees all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    connection_id: int | None  # None: the operator's scope, every connection

    @property
    def operator(self) -> bool:
        return self.connection_id is None

    def sees(self, connection_id: int) -> bool:
        """Whether a user or group owned by ``connection_id`` exists for this caller."""
        return self.connection_id is None or self.connection_id == connection_id


OPERATOR = Scope(None)


def of_connection(connection_id: int) -> Scope:
    return Scope(int(connection_id))
