"""Client addresses behind a trusted reverse proxy (request log and failed-login limits)."""

from __future__ import annotations

import pytest

from api.client import client_address


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
        (None, None, (), ""),
    ],
)
def test_client_address(remote, forwarded, trusted, expected) -> None:
    assert client_address(remote, forwarded, trusted) == expected
