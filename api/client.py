"""Which address a request really came from, for the request log and failed-login limits.

Behind the documented nginx every request arrives from the proxy's address; only a proxy
listed in ``[api] trusted_proxies`` may name the client through ``X-Forwarded-For``. A client
can prepend anything to that header, so it is read from the right, skipping trusted hops.
The hop that names the client must be an IP address (``store.domain.clients.ip_text``):
anything else (text, a forged log field, an IPv6 zone) is not believed, and the peer's own
address is used instead. The same header, under the same rule, names the browser of a
session check (``session_client``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Any

from store.domain import limits
from store.domain.clients import ip_text
from store.records import SessionClient

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def forwarded_client(
    remote_addr: str | None, forwarded_for: str | None, trusted: Collection[str]
) -> str | None:
    """The client a trusted proxy names in ``X-Forwarded-For``: the right-most hop that is not
    itself a trusted proxy, as canonical address text. None when the peer is not in
    ``trusted``, the header is absent or blank, every hop is a trusted proxy, or the hop that
    names the client is not an IP address (text, a forged log field, an IPv6 zone)."""
    remote = (remote_addr or "").strip()
    if not forwarded_for or remote not in trusted:
        return None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return ip_text(hop)
    return None


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted: Collection[str]
) -> str:
    """The client a trusted proxy names, else the connection's own peer address."""
    named = forwarded_client(remote_addr, forwarded_for, trusted)
    return named if named is not None else (remote_addr or "").strip()[: limits.CLIENT]


def request_client(req: Any, store: Any) -> str:
    """The client address of a Falcon request under this store's proxy settings."""
    return client_address(
        req.remote_addr, req.get_header("X-Forwarded-For"), store.settings.api.trusted_proxies
    )


def forwarded_unheeded(req: Any, store: Any) -> bool:
    """Whether the request names a client in ``X-Forwarded-For`` that was not believed, as
    its peer is not in ``[api] trusted_proxies``: a proxy that is not listed, behind which
    every client is counted as the proxy itself."""
    trusted = store.settings.api.trusted_proxies
    forwarded = req.get_header("X-Forwarded-For")
    return bool(forwarded and forwarded.strip()) and (req.remote_addr or "").strip() not in trusted


def session_client(req: Any, store: Any) -> SessionClient | None:
    """Who a session check is for, as far as a trusted proxy says: the browser's address from
    ``X-Forwarded-For`` and its ``User-Agent``. ``/auth/session`` is called by nginx's
    ``auth_request`` or by Control's web tier, never by the browser, so the peer's own
    address is never the browser's: from a peer not in ``[api] trusted_proxies`` nothing is
    taken (None), and either part is None when the trusted proxy did not send it."""
    trusted = store.settings.api.trusted_proxies
    if (req.remote_addr or "").strip() not in trusted:
        return None
    address = forwarded_client(req.remote_addr, req.get_header("X-Forwarded-For"), trusted)
    return SessionClient(address=address, user_agent=req.get_header("User-Agent"))


def peer_allowed(remote_addr: str | None, networks: Collection[IPNetwork]) -> bool:
    """Whether the connection's own peer address is in one of ``networks`` (an IPv4 address
    seen as IPv6, ``::ffff:a.b.c.d``, counts as the IPv4 one). Headers play no part."""
    try:
        address = ipaddress.ip_address((remote_addr or "").strip().split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    candidates = (address,) if mapped is None else (address, mapped)
    return any(a in n for a in candidates for n in networks if a.version == n.version)


def networks_of(entries: Collection[str]) -> tuple[IPNetwork, ...]:
    """``["127.0.0.0/8", "::1"]`` as networks (entries are checked when settings load)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
