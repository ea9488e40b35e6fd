"""Concurrent creates of one userName: the folded unique key lets exactly one win."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from store.context import Store
from store.errors import Conflict
from store.queries.users import list_users
from store.records import UserRecord
from store.services.users import create_user
from tests.store.test_users_helpers import ACTOR, user_input


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment on their own threads; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_concurrent_creates_of_one_user_name_one_wins(store: Store) -> None:
    for round_ in range(5):
        spellings = [f"straße{round_}@example.com", f"STRASSE{round_}@EXAMPLE.COM"]
        results = _race(
            [lambda n=name: create_user(store, user_input(n), ACTOR) for name in spellings]
        )
        wins = [r for r in results if isinstance(r, UserRecord)]
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert losses[0].attribute == "userName"
    assert list_users(store, None, 1, 100).total == 5
