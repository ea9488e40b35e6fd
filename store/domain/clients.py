"""What the store keeps of where a request came from: a client's IP address and User-Agent.
Pure: no I/O.

Both come from outside (a header a proxy forwards, an argument of Control's sign-in
integration). An address is kept only when it is exactly one IP address, and then in its
canonical text (``2001:db8::7``, an IPv4-mapped IPv6 address as the IPv4 one): anything else,
an IPv6 zone (``fe80::1%eth0``, whose zone is free text) included, is no address at all. A
User-Agent is free text: it is kept as sent, cut to ``USER_AGENT_CAP`` characters, and shown
only through ``store.domain.display``.
"""

from __future__ import annotations

import functools
import ipaddress

from store.domain import limits
from store.domain.text import storable

ADDRESS_MAX = limits.ADDRESS
"""Longest text of an IP address (``limits.ADDRESS``)."""

USER_AGENT_CAP = limits.USER_AGENT
"""Characters of a User-Agent kept (the request log keeps as many)."""


def ip_text(value: object) -> str | None:
    """The canonical text of the IP address ``value`` is (surrounding blanks aside), or None
    when it is not exactly one IPv4 or IPv6 address."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > ADDRESS_MAX or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped if mapped is not None else address)


IPV6_LIMIT_PREFIX = 64
"""An IPv6 client is limited as its /64: one host there may use any of 2^64 addresses."""


@functools.lru_cache(maxsize=4096)  # every request asks; a few IdPs' addresses repeat
def limited_address(value: str | None) -> str:
    """The address a per-address limit (failed authentications) counts a client under: an
    IPv4 address as itself (an IPv4-mapped IPv6 one as the IPv4 address), an IPv6 address
    as its /64 network (``2001:db8:0:1::/64``), and anything that is not exactly one IP
    address as ``unknown``, one budget that every such client shares. Canonical text only,
    at most ``ADDRESS_MAX`` characters: safe in a key, a log line or a terminal."""
    text = ip_text(value)
    if text is None:
        return UNKNOWN_ADDRESS
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return text
    return str(ipaddress.ip_network(f"{text}/{IPV6_LIMIT_PREFIX}", strict=False))


def limited_address_argument(value: str) -> str | None:
    """What an operator names a limited address by (``token unlock``): an IP address, the
    network ``limited_address`` shows (``2001:db8:0:1::/64``, or any IPv6 address in it) or
    ``unknown``; as ``limited_address`` gives it, or None when it is none of these."""
    text = value.strip()
    if text.lower() == UNKNOWN_ADDRESS:
        return UNKNOWN_ADDRESS
    if "/" in text and len(text) <= ADDRESS_MAX + 4 and "%" not in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        if network.prefixlen < (32 if network.version == 4 else IPV6_LIMIT_PREFIX):
            return None  # wider than one limited address
        text = str(network.network_address)
    address = limited_address(text)
    return None if address == UNKNOWN_ADDRESS else address


def storable_text(value: str | None, size: int) -> str:
    """``value`` cut to ``size`` characters, kept as received (so ``--json`` shows exactly
    what a client sent; every edge renders it through ``store.domain.display`` before a
    terminal sees it). Only what no database holds is replaced (``store.domain.text``)."""
    return storable((value or "")[:size])


def user_agent_text(value: object) -> str | None:
    """A User-Agent as the store keeps it, or None when there is none (absent or blank)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return storable_text(value, USER_AGENT_CAP)


UNKNOWN_ADDRESS = "unknown"
"""How a missing address reads (a session from before addresses were recorded, or never seen
through a trusted proxy)."""


def address_label(value: str | None) -> str:
    """A recorded address for a table cell or a line, else ``unknown``. Not yet terminal-safe:
    the table or line shows it through ``store.domain.display`` like every outside text."""
    return value or UNKNOWN_ADDRESS
