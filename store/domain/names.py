"""Case-insensitive keys for names that are unique and matched without regard to case.

userName, group displayName, IdP group names in the mapping and token names are returned
exactly as sent but compared through ``fold``: Unicode NFKC normalisation then casefold, so
"Straße" and "STRASSE" or "Ä" and "ä" are the same name on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import unicodedata


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
