"""A ``serve`` or ``worker`` process announces that it uses the database while it runs.

It holds a lease row ``process:<nonce>`` (holder: what it is, host, pid) renewed every third
of ``[worker] lease_ttl_seconds`` and released when the process stops, so ``db restore`` can
refuse to replace a database that processes are serving. A process killed outright leaves a
row that expires after the TTL. The renewing thread opens a connection only for the moment of
each renewal, so a process holds no more connections than before."""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Iterator

from store.context import Store
from store.domain import limits
from store.services.lease import PROCESS_LEASE_PREFIX, acquire_lease, release_lease
from worker.jobs import new_holder_id

log = logging.getLogger(__name__)


@contextlib.contextmanager
def announced(store: Store, role: str) -> Iterator[str]:
    """Hold this process's presence lease for the duration of the block."""
    name = f"{PROCESS_LEASE_PREFIX}{secrets.token_hex(8)}"
    holder = f"{role} {new_holder_id()}"[: limits.HOLDER]
    ttl = float(store.settings.worker.lease_ttl_seconds)
    stop = threading.Event()

    def renew() -> None:
        try:
            acquire_lease(store, name, holder, ttl)
        except Exception as exc:  # the database may be away for a while: keep trying
            log.warning("presence lease renewal failed: %s", exc)
        finally:
            store.close()  # Pony's connections are per thread: this closes this thread's only

    def keep() -> None:
        while not stop.wait(max(0.5, ttl / 3)):
            renew()

    renew()
    thread = threading.Thread(target=keep, name="presence-lease", daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        stop.set()
        thread.join(timeout=5)
        try:
            release_lease(store, name, holder)
        except Exception as exc:
            log.warning("could not release the presence lease: %s", exc)
