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
CONNECTION_DOMAINS: Final = 50
"""userName domains one connection may be limited to."""
DOMAIN: Final = 253
"""A domain name in ASCII (RFC 1035 §2.3.4: 255 octets on the wire, 253 written out)."""
DOMAIN_LABEL: Final = 63
"""One label of a domain name."""

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

# ---- what the service records of its own work -----------------------------------------------
# Text the service writes about a request, an operator's action or a job run is cut to these
# (never refused: a long value must not fail the work it records); each is its column's size.

ACTOR: Final = 256
"""Who did something: an audit event's actor, who created a token or a mapping, granted a
role, placed a hold, revoked a token or queued a role recomputation."""
TOKEN_NAME: Final = 256
"""A SCIM token's name (and its key), and the token a logged request names."""
TOKEN_PREFIX: Final = 64
"""The shown start of a token secret."""
SECRET_HASH: Final = 128
"""A token's or session's secret hash (hex)."""
AUDIT_ACTION: Final = 64
"""An audit event's action (``enums.AuditAction``)."""
AUDIT_TARGET_ID: Final = 64
"""An audit event's target id (a resource id, a role name, a mapping's group key)."""
AUDIT_TARGET_NAME: Final = 1024
"""An audit event's target name (a userName, a group name, a mapping)."""
DETAIL: Final = 2048
"""A free-text detail: an audit event's, a logged request's error, a job run's summary."""
REQUEST_METHOD: Final = 16
REQUEST_PATH: Final = 1024
"""A logged request's path."""
REQUEST_QUERY: Final = 4096
"""A logged request's filter (``FILTER_LENGTH`` by default, which an operator may raise)."""
CLIENT: Final = 128
"""A logged request's client address (as a trusted proxy named it)."""
SCIM_TYPE: Final = 64
"""A logged refusal's ``scimType``."""
USER_AGENT: Final = 256
"""A User-Agent kept by the request log or a session."""
ADDRESS: Final = 45
"""Longest text of an IP address (an IPv6 address with an IPv4 tail); canonical texts are
shorter (39), so a longer value is refused before it is parsed."""
SESSION_END: Final = 128
"""Why a session ended."""
HOLD_REASON: Final = 1024
"""An operator's reason for a hold (``user deactivate``)."""
JOB_NAME: Final = 64
"""A worker job's name, and a lease's."""
JOB_ERROR: Final = 4096
"""A failed job run's error."""
HOLDER: Final = 256
"""A worker process's holder name (a lease's holder, who ran a job)."""
RATE_KEY: Final = 256
"""A rate-limit bucket's key (a token or a client address)."""
AUDIT_IDS: Final = 1000
"""Ids one audit event lists (a group's members added or removed, a transfer's users and
groups); beyond that only their count is kept."""

# ---- what a terminal is shown ---------------------------------------------------------------

SHOWN_CELL: Final = 200
"""Widest cell of a command's text table, in characters once made terminal-safe: longer
outside text (a request's error, a User-Agent, a 1,024-character displayName) is cut there
with an ellipsis, so a row stays one readable line; ``--json`` holds every value whole."""
