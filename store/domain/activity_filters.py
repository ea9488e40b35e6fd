"""How an operator narrows the request log, parsed from what they type: a status (``401``,
``4xx``, ``5xx``) and an age (``30m``, ``1h``, ``2d``). Pure; the errors say what is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_AGE = re.compile(r"(\d{1,6})\s*(s|m|min|h|d|w)")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
MAX_AGE = timedelta(days=3650)


class FilterError(ValueError):
    """A status or age an operator typed that means nothing; the message says what does."""


@dataclass(frozen=True)
class StatusRange:
    low: int
    high: int  # inclusive

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and self.low <= status <= self.high


def parse_status(text: str) -> StatusRange:
    """``401`` (one status) or ``4xx`` (a class, 1xx to 5xx)."""
    value = text.strip().lower()
    if re.fullmatch(r"[1-5]xx", value):
        low = int(value[0]) * 100
        return StatusRange(low, low + 99)
    if re.fullmatch(r"[1-5]\d\d", value):
        return StatusRange(int(value), int(value))
    raise FilterError(
        f"status {text!r} is not a status: use a code such as 401 or a class such as 4xx"
    )


def parse_age(text: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``2d`` or ``1w``: how far back to look."""
    match = _AGE.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise FilterError(
            f"age {text!r} is not a duration: use a number and a unit, e.g. 30m, 1h, 2d"
        )
    age = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if age > MAX_AGE:
        raise FilterError(f"age {text!r} is too long: at most {MAX_AGE.days}d")
    return age
