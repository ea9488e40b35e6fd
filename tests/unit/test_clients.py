"""What the store keeps of a client's address and User-Agent (``store.domain.clients``)."""

from __future__ import annotations

import pytest

from store.domain.clients import (
    USER_AGENT_CAP,
    address_label,
    ip_text,
    storable_text,
    user_agent_text,
)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:DB8:0:0:0:0:0:7", "2001:db8::7"),  # canonical text
        ("::ffff:198.51.100.4", "198.51.100.4"),  # an IPv4 client seen over IPv6
        ("::1", "::1"),
        ("fe80::1%eth0", None),  # a zone is free text and means nothing elsewhere
        ("fe80::1%\x1b]52;c;Y3VybA==\x07", None),
        ("203.0.113.7\x1b[2J", None),
        ("203.0.113.7, 10.0.0.1", None),  # one address, not a list
        ("203.0.113.007", None),  # leading zeros are ambiguous (octal or decimal)
        ("example.com", None),
        ("unknown", None),
        ("", None),
        ("1" * 46, None),
        (None, None),
        (3405803783, None),  # only text
    ],
)
def test_only_an_ip_address_is_kept(value: object, kept: str | None) -> None:
    assert ip_text(value) == kept


def test_a_user_agent_is_kept_as_sent_cut_to_its_cap() -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    assert user_agent_text(agent) == agent
    assert user_agent_text("\x1b]52;c;eA==\x07evil") == "\x1b]52;c;eA==\x07evil"  # shown escaped
    assert user_agent_text("x" * 1000) == "x" * USER_AGENT_CAP
    assert user_agent_text("nul\x00 and \ud800") == "nul\ufffd and \ufffd"  # no database holds
    assert user_agent_text("   ") is None and user_agent_text(None) is None


def test_storable_text_replaces_only_what_no_database_holds() -> None:
    assert storable_text("é 漢 🙂\x1b", 10) == "é 漢 🙂\x1b"
    assert storable_text(None, 5) == "" and storable_text("abcdef", 3) == "abc"


def test_a_missing_address_reads_unknown() -> None:
    assert address_label(None) == "unknown" and address_label("") == "unknown"
    assert address_label("2001:db8::7") == "2001:db8::7"
