"""Which address a request really came from, for the request log and failed-login limits.

Behind the documented nginx every request arrives from the proxy's address; only a proxy
listed in ``[api] trusted_proxies`` may name the client through ``X-Forwarded-For``. A client
can prepend anything to that header, so it is read from the right, skipping trusted hops.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted: Collection[str]
) -> str:
    remote = (remote_addr or "").strip()
    if not forwarded_for or remote not in trusted:
        return remote[:128]
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:128]
    return remote[:128]


def request_client(req: Any, store: Any) -> str:
    """The client address of a Falcon request under this store's proxy settings."""
    return client_address(
        req.remote_addr, req.get_header("X-Forwarded-For"), store.settings.api.trusted_proxies
    )


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
