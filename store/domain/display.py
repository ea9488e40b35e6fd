"""Outside text made safe for a terminal: the one sanitiser every edge calls before it shows
IdP or client text (user and group names, request-log fields, audit details, error details
that echo input) in the TUI, the CLI's text output or a log line.

A character a terminal would act on or that is invisible is never emitted: it is shown as a
visible escape instead, ``\\x1b`` for C0 controls, ESC, DEL and C1 controls, ``\\u202e`` for
bidi controls and other format characters (Unicode category Cf), line and paragraph
separators, surrogates, private-use and unassigned code points, and the invisible
"default ignorable" letters and marks (Hangul fillers, stray variation selectors). Escape
sequences of every kind (CSI, OSC ended by BEL or ST, DCS, SOS/PM/APC, a lone ESC) are
therefore inert: their introducer is shown as text and the rest is plain printable text.

Printable text passes unchanged: letters of any script, combining marks, CJK, emoji with
their skin tones, variation selectors and zero-width joiners inside emoji sequences. A
backslash stays as it is (``CORP\\ursula``) unless what follows it reads like one of the
escapes above, in which case it is doubled; so two different inputs never render the same,
even when they differ only by an invisible character (the mapping is injective).

Pure: no I/O. ``--json`` output does not use this module: JSON escaping is already exact.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0]
    + list(range(0x180B, 0x1810))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
)
"""Default-ignorable code points that are letters or marks: invisible, yet printable to
Python (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and
standard variation selectors), and the blank braille pattern, a symbol drawn as nothing."""

ZWJ = "\u200d"
_EMOJI_VARIATION = ("\ufe0e", "\ufe0f")
_KEYCAP = "\u20e3"
_ESCAPE_LIKE = re.compile(r"\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}")
"""What a backslash must not be followed by unless doubled (the escapes this module writes)."""


_SKIN_TONES = range(0x1F3FB, 0x1F400)
_LATIN1_EMOJI = "\u00a9\u00ae"


def _is_emoji(ch: str) -> bool:
    """A symbol that can start or continue an emoji sequence: a symbol (So) from U+2000 on
    (arrows, dingbats, pictographs), © and ®, and the skin-tone modifiers. Not the modifier
    letters and accents of ASCII and Latin-1 (``^``, backtick, ``¨``, ``°``...), after which
    a joiner or variation selector would be invisible."""
    code = ord(ch)
    if code in _SKIN_TONES or ch in _LATIN1_EMOJI:
        return True
    return unicodedata.category(ch) == "So" and code >= 0x2000 and code not in _INVISIBLE


def _allowed_in_emoji(text: str, index: int) -> bool:
    """A zero-width joiner between two emoji, or an emoji variation selector after an emoji
    or a keycap base, is part of a visible emoji sequence: keep it."""
    ch = text[index]
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if ch == ZWJ:
        return (
            bool(before and after)
            and (_is_emoji(before) or before in _EMOJI_VARIATION)
            and _is_emoji(after)
        )
    if ch in _EMOJI_VARIATION:
        return bool(before) and (
            _is_emoji(before) or (before in "#*0123456789" and after == _KEYCAP)
        )
    return False


def is_unsafe(ch: str) -> bool:
    """Whether a terminal must never receive ``ch`` as is (context aside, see
    ``_allowed_in_emoji``): a control, format, separator, invisible or unassigned character."""
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES or ord(ch) in _INVISIBLE


def hidden_filler(text: str, index: int) -> bool:
    """Whether ``text[index]`` is an invisible letter, mark or blank symbol (a Hangul filler,
    the combining grapheme joiner, the blank braille pattern, a variation selector outside an
    emoji sequence): printable to Python, yet drawn as nothing. The name rules refuse these
    in names (``store.domain.names``), as they refuse format characters."""
    return ord(text[index]) in _INVISIBLE and not _allowed_in_emoji(text, index)


def escape_char(ch: str) -> str:
    """The visible form of one character: ``\\x1b``, ``\\u202e`` or ``\\U000e0001``."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _pieces(text: str, keep_newlines: bool) -> list[str]:
    pieces = []
    for index, ch in enumerate(text):
        if keep_newlines and ch == "\n":
            pieces.append(ch)
        elif is_unsafe(ch) and not _allowed_in_emoji(text, index):
            pieces.append(escape_char(ch))
        else:
            pieces.append(ch)
    return pieces


def _render(text: str, keep_newlines: bool) -> str:
    pieces = _pieces(text, keep_newlines)
    for index, piece in enumerate(pieces):
        if piece == "\\":
            following = "".join(pieces[index + 1 : index + 10])
            if _ESCAPE_LIKE.match(following):
                pieces[index] = "\\\\"
    return "".join(pieces)


def safe_text(value: object) -> str:
    """``value`` as one line of terminal-safe text (None is ""). Newlines, tabs and carriage
    returns are escaped too, so a name cannot fake a second row or overwrite its own."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _render(text, keep_newlines=False)


def escape_unsafe(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character a terminal must not receive escaped and nothing else
    changed, so text that is already safe passes unchanged: the last pass at an output edge
    (the service log), behind the callers' own ``safe_text``."""
    if text.isascii() and text.isprintable():  # the usual line: nothing to escape
        return text
    return "".join(_pieces(text, keep_newlines))


def safe_field(value: object) -> str:
    """Like ``safe_text`` but spaces are escaped too (``\\x20``): one field of a line whose
    fields are separated by spaces (a service log line), so client text cannot make up a
    field that follows it (``token=...``, ``client=...``)."""
    return safe_text(value).replace(" ", escape_char(" "))


def safe_multiline(value: object) -> str:
    """Like ``safe_text`` but line breaks (``\\n``) are kept: for multi-line details (an
    error message, a filter) shown in a wrapped block."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _render(text, keep_newlines=True)


def clip(text: str | None, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when anything was cut
    (None is ""). Cut text that is already terminal-safe: an escape cut short stays inert."""
    value = text or ""
    if width <= 0:
        return ""
    return value if len(value) <= width else value[: max(0, width - 1)] + "…"


def percent_done(done: int, total: int) -> int:
    """How far ``done`` of ``total`` steps got, in whole percent rounded down (so 100 means
    done); nothing to do (a total of 0) is done."""
    done = max(0, min(done, total))
    return 100 * done // total if total else 100
