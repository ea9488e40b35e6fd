"""Reads of SCIM tokens for operators: the SCIM Provisioning panel and ``token list``.

Read only. A token record carries the name, display prefix, dates, status and rate limit;
never the secret nor its hash (neither may leave the store).
"""

from __future__ import annotations

from datetime import datetime

from store import entities
from store.context import Store, as_utc
from store.domain.names import fold
from store.domain.tokens import stale_since
from store.errors import NotFound
from store.records import TokenRecord
from store.tx import read


def token_record(
    token: entities.ScimToken, now: datetime | None = None, stale_after_hours: float = 0.0
) -> TokenRecord:
    """A ScimToken row as a record (used inside the store by the token services too). With
    ``now``, an active token's stale flag is the staleness rule applied now
    (``domain.tokens.stale_since``) instead of the flag the worker last stored."""
    stale = token.stale_since
    if now is not None and token.revoked_at is None:
        stale = stale_since(token.last_used or token.created, now, stale_after_hours)
    return TokenRecord(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created=as_utc(token.created),
        created_by=token.created_by,
        last_used=as_utc(token.last_used),
        revoked_at=as_utc(token.revoked_at),
        rate_limit=token.rate_limit,
        stale_since=as_utc(stale),
        connection=token.connection.name,
        connection_id=int(token.connection.id),
    )


def active_token_entity(store: Store, name: str) -> entities.ScimToken | None:
    """The token row of that name that is not revoked (names fold case-insensitively)."""
    token = store.db.ScimToken.get(name_key=fold(name.strip()))
    if token is None or token.revoked_at is not None:
        return None
    return token


@read
def list_tokens(store: Store) -> list[TokenRecord]:
    """Every token, active ones first, then by creation date."""
    tokens = store.db.ScimToken.select().order_by(lambda t: t.id)
    records = [token_record(t) for t in tokens]
    return sorted(records, key=lambda r: (r.revoked_at is not None, r.created, r.id))


@read
def get_token(store: Store, name: str) -> TokenRecord:
    """The active (not revoked) token of that name, or NotFound."""
    token = active_token_entity(store, name)
    if token is None:
        raise NotFound(f"no active token named {name!r}")
    return token_record(token)
