"""What an operator may type to narrow the request log (``activity --status --since``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store.domain.activity_filters import FilterError, StatusRange, parse_age, parse_status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("401", StatusRange(401, 401)),
        ("4xx", StatusRange(400, 499)),
        (" 5XX ", StatusRange(500, 599)),
        ("200", StatusRange(200, 200)),
    ],
)
def test_status(text: str, expected: StatusRange) -> None:
    assert parse_status(text) == expected


@pytest.mark.parametrize("text", ["", "4x", "6xx", "99", "4000", "abc", "40l", "x4xx"])
def test_bad_status(text: str) -> None:
    with pytest.raises(FilterError, match="use a code such as 401 or a class such as 4xx"):
        parse_status(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("30min", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "0h", "-1h", "1.5h", "1y", "1h30m"])
def test_bad_age(text: str) -> None:
    with pytest.raises(FilterError, match="e.g. 30m, 1h, 2d"):
        parse_age(text)


def test_age_is_bounded() -> None:
    with pytest.raises(FilterError, match="too long"):
        parse_age("999999d")
