"""Fast seeding of the benchmark's dataset straight through the store's use cases.

Creating 100,000 users over HTTP would take longer than the benchmark itself, so the bulk of
the dataset is written by the same ``create_user`` use case the API calls, many per
transaction (the use case joins the caller's db_session). The bodies are the Okta-shaped
payloads the HTTP creates send, turned into store inputs by the same pure SCIM mapping, so a
seeded user is indistinguishable from one created over HTTP.
"""

from __future__ import annotations

from typing import Any

from pony.orm import db_session

from api.scim.mapping import user_input_from_scim
from store.config import Settings, settings_from_dict
from store.context import open_store
from store.domain.scope import OPERATOR, Scope
from store.services.connections import get_connection
from store.services.users import create_user
from tests.bench.load import USER

BATCH = 500


def user_name(n: int) -> str:
    return f"user{n:06d}@example.com"


def okta_user(n: int) -> dict[str, Any]:
    """The body Okta sends to create a user (IDP_QUIRKS), numbered."""
    name = user_name(n)
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"Given{n} Family{n}",
        "locale": "en-US",
        "externalId": f"00u{n:012d}",
        "groups": [],
        "password": "not-stored-1",
        "active": True,
    }


def seed_users(
    url: str, first: int, count: int, progress: Any = None, connection: str | None = None
) -> list[str]:
    """Create users ``first .. first+count-1`` in batches, owned by the IdP connection named
    ``connection`` (as if its token had created them; None: the operators' ``default``);
    returns their ids in order."""
    settings: Settings = settings_from_dict({"database": {"url": url}}, source="bench")
    store = open_store(settings)
    ids: list[str] = []
    try:
        scope = OPERATOR if connection is None else Scope(get_connection(store, connection).id)
        for start in range(first, first + count, BATCH):
            stop = min(start + BATCH, first + count)
            with db_session:
                for n in range(start, stop):
                    record = create_user(
                        store, user_input_from_scim(okta_user(n)), "operator:bench-seed", scope
                    )
                    ids.append(record.id)
            if progress is not None:
                progress(len(ids))
    finally:
        store.close()
    return ids


def settle(url: str) -> None:
    """PostgreSQL only: what autovacuum does within a minute or so of a bulk load (planner
    statistics and the visibility map that lets deep pages walk an index alone). Seeding
    here is far faster than any IdP sync, so the benchmark gives the database that minute
    instead of measuring the moments right after the load."""
    if not url.startswith(("postgresql://", "postgres://")):
        return
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    finally:
        conn.close()
