"""The pause between two batches on SQLite covers the busy-handler sleep of a writer that
began waiting during the batch, and no more (``role_sync.sqlite_pause_seconds``)."""

from __future__ import annotations

import pytest

from store.services.role_sync import sqlite_pause_seconds


@pytest.mark.parametrize(
    ("held", "pause_ms"),
    [(0.0, 3), (0.004, 7), (0.06, 27), (0.116, 27), (0.15, 52), (0.3, 102), (5.0, 102)],
)
def test_the_pause_is_the_sleep_a_writer_waiting_that_long_is_in(
    held: float, pause_ms: int
) -> None:
    assert sqlite_pause_seconds(held) == pytest.approx(pause_ms / 1000)


def test_the_pause_grows_with_the_batch_and_never_passes_the_longest_sleep() -> None:
    pauses = [sqlite_pause_seconds(ms / 1000) for ms in range(0, 1000, 7)]
    assert pauses == sorted(pauses) and max(pauses) == pytest.approx(0.102)
