"""What a server-issued resource id can look like, checked before any database lookup.

An id from a URL or a PATCH body that could never have been issued (empty, too long for the
column, control characters such as NUL that PostgreSQL refuses in text) is simply unknown:
the caller gets NotFound (or InvalidInput for a member list), never a driver error.
"""

from __future__ import annotations

from store.domain import limits


def is_resource_id(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) > limits.ID:
        return False
    # Printable excludes NUL and lone surrogates (categories Cc and Cs) with every other control.
    return value.isprintable()
