"""Budget leases of the per-token rate limit, held by this process.

``ratelimit.grant`` hands a process a run of a token's GCRA slots at once; the process then
admits that token's requests into them (``ratelimit.Lease.take``) with no write to the
database. The database still decides every grant, and a slot is only ever used the way
GCRA itself would use it, so the limit plus burst holds across any number of processes
(see store/domain/ratelimit.py). The token itself is still looked up on every request:
a revoked token fails at once, lease or not, and its lease is dropped.

A lease is kept with the terms it was granted under (the token's limit, the burst and the
token's hash): a changed limit drops it. When the process stops (the server's shutdown, or
interpreter exit), each lease's slots still ahead are given back, provided nothing was
granted after them (the bucket's TAT is still the lease's end); otherwise they pass unused,
like idle time.

Times are seconds since the epoch in the clock that judged the grant: the database's on
PostgreSQL (``offset`` turns this process's clock into it, rounded up so that a request is
never placed before its own time), the store's clock elsewhere.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from store.domain.ratelimit import Lease

_HELD_PER_KEY = 4
"""Leases kept per bucket (threads that asked at the same moment each got one)."""


@dataclass
class _Held:
    lease: Lease
    terms: tuple[Any, ...]  # what the lease was granted under (limit, burst, token)
    offset: float  # add to this process's clock to get the grant's clock


@dataclass
class ProcessLeases:
    """The leases of one database in this process."""

    held: dict[str, list[_Held]] = field(default_factory=dict)
    grants: int = 0  # how many grants this process asked the database for
    taken: int = 0  # requests admitted from a lease, with no database write
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, terms: tuple[Any, ...], local_now: float) -> bool:
        """Admit one request of ``key`` from a lease held under these terms."""
        with self.lock:
            leases = self.held.get(key)
            if not leases:
                return False
            for held in list(leases):
                now = local_now + held.offset
                if held.terms != terms or held.lease.spent(now):
                    leases.remove(held)
                elif held.lease.take(now):
                    self.taken += 1
                    return True
            if not leases:
                del self.held[key]
            return False

    def asked(self) -> None:
        with self.lock:
            self.grants += 1

    def keep(self, key: str, terms: tuple[Any, ...], lease: Lease, offset: float) -> None:
        with self.lock:
            leases = self.held.setdefault(key, [])
            leases.append(_Held(lease, terms, offset))
            del leases[:-_HELD_PER_KEY]

    def drop(self, key: str) -> None:
        with self.lock:
            self.held.pop(key, None)

    def release(self, local_now: float) -> list[tuple[str, float, float]]:
        """Forget every lease; (key, end, back to) for each one with slots still ahead."""
        with self.lock:
            held, self.held = self.held, {}
        ahead = []
        for key, leases in held.items():
            for one in leases:
                now = local_now + one.offset
                back = one.lease.unused_from(now)
                if back < one.lease.end:
                    ahead.append((key, one.lease.end, back))
        return ahead


_by_db: weakref.WeakKeyDictionary[Any, ProcessLeases] = weakref.WeakKeyDictionary()
_by_db_lock = threading.Lock()
_stores: list[weakref.ref[Any]] = []


def leases_of(store: Any) -> ProcessLeases:
    """This process's leases on the store's database (one registry per database)."""
    found = _by_db.get(store.db)
    if found is not None:
        return found
    with _by_db_lock:
        found = _by_db.get(store.db)
        if found is None:
            found = _by_db[store.db] = ProcessLeases()
            _stores.append(weakref.ref(store))
            if len(_stores) == 1:
                atexit.register(_release_all)
    return found


def _release_all() -> None:
    """At interpreter exit: give back what every store of this process still holds."""
    from store.services.tokens import release_rate_leases

    for ref in list(_stores):
        store = ref()
        if store is not None:
            with contextlib.suppress(Exception):  # the database may be gone by now
                release_rate_leases(store)
