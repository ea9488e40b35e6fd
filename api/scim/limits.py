"""The limits the service enforces, as a schema extension of ``/ServiceProviderConfig``.

RFC 7643 §5 fixes the members of the service provider configuration, and strict clients
(validating models with unknown members forbidden) refuse a document carrying anything else,
a ``patch.maxOperations`` or an unknown extension alike. So the core document holds only §5
members (``filter.maxResults`` and ``bulk.maxPayloadSize`` are standard), and the rest lives
under this product's ``LIMITS`` URN, whose attributes are ``returned: "request"``
(RFC 7643 §7): they appear, and the URN is listed in ``schemas``, only when a client asks with
``attributes=<the URN>`` (or one of its attributes). ``/Schemas`` describes the extension.
Pure: the configured values are passed in; the fixed ones (filter depth and comparisons, the
lengths of fields) are ``store.domain.limits``, the values the API and the store enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.scim.attributes import Attr
from api.scim.urns import LIMITS, SCHEMA
from store.domain import limits

FIELD_LENGTHS: tuple[tuple[str, int, str], ...] = (
    ("maxIdLength", limits.ID, "Longest resource id; a longer one in a URL is 404."),
    ("maxUserNameLength", limits.USER_NAME, "Longest userName (400 invalidValue)."),
    ("maxExternalIdLength", limits.EXTERNAL_ID, "Longest externalId (400 invalidValue)."),
    ("maxDisplayNameLength", limits.DISPLAY_NAME, "Longest displayName of a User or Group."),
    ("maxNamePartLength", limits.NAME_PART, "Longest name.givenName and name.familyName."),
    ("maxEmailLength", limits.EMAIL, "Longest emails.value (400 invalidValue)."),
    ("maxEmailTypeLength", limits.EMAIL_TYPE, "Longest emails.type (400 invalidValue)."),
    ("maxStringLength", limits.STRING, "Longest value of any other string attribute."),
    ("maxPathLength", limits.PATH_LENGTH, "Longest PATCH path, in characters (400 invalidPath)."),
)
"""Fixed lengths, in characters (of a value and of its case-folded form alike)."""


@dataclass(frozen=True)
class Limits:
    """The enforced limits, from the settings in force (and the parsers' fixed bounds)."""

    max_payload_bytes: int
    max_results: int
    max_operations: int
    max_filter_length: int
    max_filter_depth: int = limits.FILTER_DEPTH
    max_filter_comparisons: int = limits.FILTER_COMPARISONS

    def to_extension(self) -> dict[str, int]:
        return {
            "maxPayloadSize": self.max_payload_bytes,
            "maxResults": self.max_results,
            "maxOperations": self.max_operations,
            "maxFilterLength": self.max_filter_length,
            "maxFilterDepth": self.max_filter_depth,
            "maxFilterComparisons": self.max_filter_comparisons,
            **{name: value for name, value, _ in FIELD_LENGTHS},
        }


def _limit(name: str, description: str) -> Attr:
    return Attr(name, "integer", description=description, required=True,
                mutability="readOnly", returned="request")  # fmt: skip


LIMITS_ATTRIBUTES: tuple[Attr, ...] = (
    _limit("maxPayloadSize", "Largest request body in bytes; a larger one is answered 413."),
    _limit("maxResults", "Most resources one list or search page returns."),
    _limit("maxOperations", "Most operations one PATCH request may carry (400 tooMany)."),
    _limit("maxFilterLength", "Longest filter expression, in characters (400 invalidFilter)."),
    _limit("maxFilterDepth", "Deepest nesting of parentheses and value paths in a filter."),
    _limit("maxFilterComparisons", "Most comparisons one filter may hold."),
    *(_limit(name, description) for name, _, description in FIELD_LENGTHS),
)


def asked_for(attributes: list[str] | None) -> bool:
    """Whether ``attributes`` names the extension or one of its attributes."""
    prefix = LIMITS.lower()
    return any(name.strip().lower().startswith(prefix) for name in attributes or ())


def limits_schema(base_url: str) -> dict[str, Any]:
    """The RFC 7643 §7 representation of the extension, for ``/Schemas``."""
    return {
        "schemas": [SCHEMA],
        "id": LIMITS,
        "name": "Limits",
        "description": "The request limits this service enforces.",
        "attributes": [a.to_document() for a in LIMITS_ATTRIBUTES],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{LIMITS}"},
    }
