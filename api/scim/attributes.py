"""The attribute catalogue of the resources this service keeps (RFC 7643 §4, §8.7).

Core User, the Enterprise User extension and Group, with the characteristics the protocol
core needs to decide things: type (for coercing Entra's string booleans), mutability (readOnly
attributes are refused in PATCH and ignored on input), multi-valued-ness and the canonical case
of each name (attribute names are case-insensitive). The discovery documents are built from
the same definitions, so what ``/Schemas`` says is exactly what the mapping enforces.
Pure data and lookups: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.scim.urns import ENTERPRISE_USER, GROUP, USER


@dataclass(frozen=True)
class Attr:
    """One attribute definition, shaped like RFC 7643 §7 "attributes"."""

    name: str
    type: str = "string"  # string, boolean, dateTime, reference, complex, binary
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly, readWrite, immutable, writeOnly
    returned: str = "default"  # always, never, default, request
    uniqueness: str = "none"
    sub_attributes: tuple[Attr, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    advertised: bool = True  # False: understood on input but not offered in /Schemas
    _subs: dict[str, Attr] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._subs.update({sub.name.lower(): sub for sub in self.sub_attributes})

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    @property
    def complex(self) -> bool:
        return self.type == "complex"

    def sub(self, name: str) -> Attr | None:
        """The sub-attribute called ``name`` (any case), if this attribute defines it."""
        return self._subs.get(name.lower())

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.sub_attributes:
            doc["subAttributes"] = [s.to_document() for s in self.sub_attributes if s.advertised]
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        return doc


def _text(name: str, description: str, **kw: Any) -> Attr:
    return Attr(name, "string", description=description, **kw)


def _multi(name: str, description: str, types: tuple[str, ...], value: Attr | None = None) -> Attr:
    """The usual multi-valued complex attribute: value, display, type, primary."""
    value = value or _text("value", f"The {name} value.")
    subs = (
        value,
        _text("display", "A human-readable name, primarily used for display purposes."),
        _text("type", "A label indicating the attribute's function.", canonical_values=types),
        Attr("primary", "boolean", description="Whether this is the primary value."),
    )
    return Attr(name, "complex", True, description, sub_attributes=subs)


_KINDS = ("work", "home", "other")

ID = Attr(
    "id", description="Identifier issued by the service provider; stable, never reused.",
    case_exact=True, mutability="readOnly", returned="always", uniqueness="server",
)  # fmt: skip
EXTERNAL_ID = Attr(
    "externalId", description="Identifier of the resource at the provisioning client.",
    case_exact=True,
)  # fmt: skip
META = Attr(
    "meta", "complex", description="Resource metadata.", mutability="readOnly",
    sub_attributes=(
        Attr("resourceType", mutability="readOnly", case_exact=True),
        Attr("created", "dateTime", mutability="readOnly"),
        Attr("lastModified", "dateTime", mutability="readOnly"),
        Attr("location", "reference", mutability="readOnly", case_exact=True,
             reference_types=("uri",)),
        Attr("version", mutability="readOnly", case_exact=True),
    ),
)  # fmt: skip
COMMON_ATTRIBUTES: tuple[Attr, ...] = (ID, EXTERNAL_ID, META)

_NAME = Attr(
    "name", "complex", description="The components of the user's real name.",
    sub_attributes=tuple(
        _text(sub, f"The {sub} part of the user's name.")
        for sub in ("formatted", "familyName", "givenName", "middleName",
                    "honorificPrefix", "honorificSuffix")
    ),
)  # fmt: skip

_ADDRESS = Attr(
    "addresses", "complex", True, "A physical mailing address for this user.",
    sub_attributes=(
        *(_text(sub, f"The {sub} component of the address.")
          for sub in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
        _text("type", "A label indicating the attribute's function.", canonical_values=_KINDS),
        Attr("primary", "boolean", description="Whether this is the primary address."),
    ),
)  # fmt: skip

_GROUP_REF = Attr(
    "groups", "complex", True, "Groups the user belongs to (managed through /Groups).",
    mutability="readOnly",
    sub_attributes=(
        _text("value", "The identifier of the group.", mutability="readOnly", case_exact=True),
        Attr("$ref", "reference", description="The URI of the group.", mutability="readOnly",
             case_exact=True, reference_types=("Group",)),
        _text("display", "The group's displayName.", mutability="readOnly"),
        _text("type", "Direct or indirect membership.", mutability="readOnly",
              canonical_values=("direct", "indirect")),
    ),
)  # fmt: skip

USER_ATTRIBUTES: tuple[Attr, ...] = (
    _text("userName", "Unique identifier of the user, typically the sign-in name. "
          "Matched case-insensitively, returned exactly as sent.",
          required=True, uniqueness="server"),
    _NAME,
    _text("displayName", "The name of the user, suitable for display to end-users."),
    _text("nickName", "The casual way to address the user."),
    Attr("profileUrl", "reference", description="A URI of the user's online profile.",
         reference_types=("external",)),
    _text("title", "The user's title, such as \"Vice President\"."),
    _text("userType", "The relationship between the organization and the user."),
    _text("preferredLanguage", "The user's preferred written or spoken language."),
    _text("locale", "The user's default location for localisation."),
    _text("timezone", "The user's time zone in IANA format."),
    Attr("active", "boolean", description="The user's administrative status; false signs the "
         "user out and removes roles that come from IdP groups."),
    Attr("password", description="Accepted and discarded: passwords are never stored.",
         mutability="writeOnly", returned="never", advertised=False),
    _multi("emails", "Email addresses for the user.", _KINDS),
    _multi("phoneNumbers", "Phone numbers for the user.", (*_KINDS, "mobile", "fax", "pager")),
    _multi("ims", "Instant messaging addresses for the user.",
           ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
    _multi("photos", "URLs of photos of the user.", ("photo", "thumbnail"),
           Attr("value", "reference", description="URL of a photo of the user.",
                reference_types=("external",))),
    _ADDRESS,
    _GROUP_REF,
    _multi("entitlements", "Entitlements of the user.", ()),
    _multi("roles", "Roles of the user as sent by the client (stored, not interpreted).", ()),
    _multi("x509Certificates", "X.509 certificates of the user (base64 DER).", (),
           Attr("value", "binary", description="The certificate (base64 DER).")),
)  # fmt: skip

ENTERPRISE_ATTRIBUTES: tuple[Attr, ...] = (
    _text("employeeNumber", "Numeric or alphanumeric identifier assigned to the person."),
    _text("costCenter", "Identifies the name of a cost center."),
    _text("organization", "Identifies the name of an organization."),
    _text("division", "Identifies the name of a division."),
    _text("department", "Identifies the name of a department."),
    Attr("manager", "complex", description="The user's manager.", sub_attributes=(
        _text("value", "The id of the manager's User resource.", case_exact=True),
        Attr("$ref", "reference", description="The URI of the manager's User resource.",
             reference_types=("User",)),
        _text("displayName", "The manager's displayName.", mutability="readOnly"),
    )),
)  # fmt: skip

GROUP_ATTRIBUTES: tuple[Attr, ...] = (
    _text("displayName", "A human-readable name for the group; unique, matched "
          "case-insensitively. It is the name the SSO group-to-role mapping refers to.",
          required=True, uniqueness="server"),
    Attr("members", "complex", True, "Users in the group (nested groups are not supported).",
         sub_attributes=(
             _text("value", "The id of the member User.", mutability="immutable",
                   case_exact=True),
             Attr("$ref", "reference", description="The URI of the member User.",
                  mutability="immutable", reference_types=("User",)),
             _text("display", "The member's userName (returned when asked for with "
                   "attributes=members.display).", mutability="readOnly", returned="request"),
             _text("type", "The type of the member; only \"User\" is supported.",
                   mutability="immutable", canonical_values=("User",)),
         )),
)  # fmt: skip

SCHEMA_ATTRIBUTES: dict[str, tuple[Attr, ...]] = {
    USER: USER_ATTRIBUTES,
    ENTERPRISE_USER: ENTERPRISE_ATTRIBUTES,
    GROUP: GROUP_ATTRIBUTES,
}

_BY_SCHEMA: dict[str, dict[str, Attr]] = {
    urn: {a.name.lower(): a for a in attrs + (COMMON_ATTRIBUTES if urn != ENTERPRISE_USER else ())}
    for urn, attrs in SCHEMA_ATTRIBUTES.items()
}
_URNS = {urn.lower(): urn for urn in SCHEMA_ATTRIBUTES}


def known_schema(urn: str) -> str | None:
    """The canonical spelling of a schema URN this service keeps, matched in any case."""
    return _URNS.get(urn.lower())


def find_attribute(name: str, schema: str = USER) -> Attr | None:
    """The top-level attribute ``name`` (any case) of ``schema``; core schemas include the
    common attributes id, externalId and meta."""
    known = known_schema(schema)
    return _BY_SCHEMA[known].get(name.lower()) if known else None


def canonical_name(name: str, schema: str = USER) -> str | None:
    """``"USERNAME"`` -> ``"userName"``; dotted names canonicalise both parts."""
    head, _, sub = name.partition(".")
    attr = find_attribute(head, schema)
    if attr is None:
        return None
    if not sub:
        return attr.name
    sub_attr = attr.sub(sub)
    return f"{attr.name}.{sub_attr.name}" if sub_attr else None


def is_read_only(name: str, schema: str = USER) -> bool:
    """True for attributes a client may never write (id, meta, groups, and readOnly subs)."""
    head, _, sub = name.partition(".")
    attr = find_attribute(head, schema)
    if attr is None:
        return False
    if attr.read_only or not sub:
        return attr.read_only
    sub_attr = attr.sub(sub)
    return bool(sub_attr and sub_attr.read_only)


def is_multi_valued(name: str, schema: str = USER) -> bool:
    attr = find_attribute(name, schema)
    return bool(attr and attr.multi_valued)
