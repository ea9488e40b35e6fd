"""Is the database reachable? One trivial round trip, for ``/healthz`` and operators.

Raises ``Unavailable`` (via ``@read``) when the database cannot be reached or stays locked;
it reads no table and changes nothing.
"""

from __future__ import annotations

from store.context import Store
from store.tx import read


@read
def check_database(store: Store) -> str:
    """Run ``SELECT 1`` and return the provider name ("sqlite" or "postgres")."""
    store.db.execute("SELECT 1")
    return store.provider
