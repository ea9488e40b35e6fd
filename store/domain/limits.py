"""Every fixed size limit of the service, in one place.

The SCIM API refuses a value past these (400 invalidValue, invalidFilter, invalidPath), the
store refuses it again for callers that are not the API (CLI, TUI: InvalidInput), the
database columns are declared with them (``store.db``), and ``/ServiceProviderConfig``
advertises them in its limits extension (``api.scim.limits``). A limit changed here changes
all four; a column size changed here also needs a migration (``store/migrations``).
Lengths are in characters (Unicode code points), of a value and of its case-folded key alike.
Pure.
"""

from __future__ import annotations

from typing import Final

# ---- what a resource may hold ---------------------------------------------------------------

ID: Final = 64
"""A server-issued resource id (users, groups): the primary-key column."""
USER_NAME: Final = 512
"""A user's ``userName`` (and its folded key)."""
EXTERNAL_ID: Final = 512
"""A user's or group's ``externalId``."""
DISPLAY_NAME: Final = 1024
"""A user's or group's ``displayName`` (and its key), and so an IdP group name in a mapping."""
NAME_PART: Final = 512
"""``name.givenName`` and ``name.familyName`` (kept as folded keys for filtering)."""
EMAIL: Final = 512
"""``emails[].value``."""
EMAIL_TYPE: Final = 64
"""``emails[].type``."""
STRING: Final = 8192
"""Any other string attribute a resource document keeps (certificates, photo URLs)."""
NESTING: Final = 32
"""Deepest JSON nesting of a value or stored document; SCIM resources need at most 4."""

# ---- what an operator names -----------------------------------------------------------------

ROLE_NAME: Final = 128
ROLE_DESCRIPTION: Final = 1024
CONNECTION_NAME: Final = 64
"""An IdP connection's name (the column holds 256: names an upgrade took from tokens)."""

# ---- what a request may ask -----------------------------------------------------------------

FILTER_LENGTH: Final = 4096
"""Default of ``[api] max_filter_length``: the longest filter, in characters."""
FILTER_DEPTH: Final = 20
"""Deepest nesting of parentheses, ``not`` and value paths in a filter."""
FILTER_COMPARISONS: Final = 200
"""Most comparisons one filter may hold (a few dozen is already unusual for an IdP)."""
TREE_DEPTH: Final = 3 * (FILTER_DEPTH + 1)
"""Deepest filter tree, counting each ``not``, value path and run of ``and`` or of ``or``:
what a filter within ``FILTER_DEPTH`` parses to (each level of parentheses adds at most a
``not``, an ``or`` and an ``and``). Bounds trees built by code as well (``criteria.check``)."""
PATH_LENGTH: Final = 4096
"""Longest PATCH path, in characters."""
PATH_DEPTH: Final = 20
"""Deepest nesting of a PATCH path's value filter."""
