"""Case-insensitive keys for names that are unique and matched without regard to case.

userName, group displayName, IdP group names in the mapping and token names are returned
exactly as sent but compared through ``fold``: Unicode NFKC normalisation then casefold, so
"Straße" and "STRASSE" or "Ä" and "ä" are the same name on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def closest_names(name: str, known: Iterable[str], count: int = 3) -> list[str]:
    """Up to ``count`` of ``known`` that look most like ``name`` (a typo such as
    "Enginering" finds "Engineering"), compared through ``fold``; [] when ``name`` is one of
    them or nothing is close. Pure; ``known`` is returned as given, best match first."""
    by_key: dict[str, str] = {}
    for candidate in known:
        by_key.setdefault(fold(candidate), candidate)
    key = fold(name.strip())
    if not key or key in by_key:
        return []
    return [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=count, cutoff=0.6)]
