"""Client addresses behind a trusted reverse proxy (request log and failed-login limits)."""

from __future__ import annotations

import pytest

from api.client import client_address, forwarded_client


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.5", None, (), "10.0.0.5"),
        ("10.0.0.5", "1.2.3.4", (), "10.0.0.5"),  # untrusted peer cannot name a client
        ("127.0.0.1", "1.2.3.4", ("127.0.0.1",), "1.2.3.4"),
        ("127.0.0.1", "6.6.6.6, 1.2.3.4", ("127.0.0.1",), "1.2.3.4"),  # spoofed left part
        ("127.0.0.1", "1.2.3.4, 10.0.0.2", ("127.0.0.1", "10.0.0.2"), "1.2.3.4"),
        ("127.0.0.1", " , ", ("127.0.0.1",), "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4 token=x", ("127.0.0.1",), "127.0.0.1"),  # not an address
        ("127.0.0.1", "2001:db8::7", ("127.0.0.1",), "2001:db8::7"),
        ("127.0.0.1", "2001:DB8::07", ("127.0.0.1",), "2001:db8::7"),  # canonical text
        ("127.0.0.1", "fe80::1%\x1b]0;x\x07", ("127.0.0.1",), "127.0.0.1"),  # a zone: text
        (None, None, (), ""),
    ],
)
def test_client_address(remote, forwarded, trusted, expected) -> None:
    assert client_address(remote, forwarded, trusted) == expected


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", ("127.0.0.1",), "203.0.113.7"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", ("127.0.0.1",), "203.0.113.7"),
        ("10.0.0.5", "203.0.113.7", ("127.0.0.1",), None),  # untrusted peer: nobody named
        ("127.0.0.1", None, ("127.0.0.1",), None),  # the peer itself is never the browser
        ("127.0.0.1", "127.0.0.1", ("127.0.0.1",), None),  # every hop a trusted proxy
        ("127.0.0.1", "203.0.113.7 token=x", ("127.0.0.1",), None),
    ],
)
def test_forwarded_client_names_only_what_a_trusted_proxy_forwards(
    remote, forwarded, trusted, expected
) -> None:
    assert forwarded_client(remote, forwarded, trusted) == expected
