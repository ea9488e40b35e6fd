"""The terminal sanitiser: nothing a terminal acts on or that is invisible is ever emitted,
printable text is unchanged, and different inputs never render the same."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from store.domain.display import escape_unsafe, percent_done, safe_multiline, safe_text

# ---- an exact decoder of the rendered form, to prove the mapping is injective ---------------

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def decode(rendered: str) -> str:
    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        return "\\" if body == "\\" else chr(int(body[1:], 16))

    return _ESCAPE.sub(one, rendered)


# ---- what must never reach a terminal -------------------------------------------------------

DEFAULT_IGNORABLE_LETTERS = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0}


def forbidden(ch: str) -> bool:
    """C0, DEL, C1, ESC, format (bidi, zero-width), separators, surrogates, private use,
    unassigned, and invisible default-ignorable letters and marks."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
        or code in DEFAULT_IGNORABLE_LETTERS
        or 0x180B <= code <= 0x180F
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


EMOJI_PARTS = {"\u200d", "\ufe0e", "\ufe0f"}  # allowed only inside emoji sequences


def emoji_base(ch: str) -> bool:
    """Symbols an emoji sequence part may follow: pictographic symbols (So from U+2000 on),
    © and ®, skin tones; never ASCII or Latin-1 accents and modifier letters."""
    code = ord(ch)
    if 0x1F3FB <= code <= 0x1F3FF or ch in "\u00a9\u00ae":
        return True
    return unicodedata.category(ch) == "So" and code >= 0x2000 and not forbidden(ch)


def emitted_forbidden(rendered: str) -> list[str]:
    found = []
    for index, ch in enumerate(rendered):
        if not forbidden(ch):
            continue
        if ch in EMOJI_PARTS and index > 0:
            before = rendered[index - 1]
            if emoji_base(before) or before in EMOJI_PARTS | set("#*0123456789"):
                continue
        found.append(ch)
    return found


every_code_point = st.characters(codec=None, min_codepoint=0, max_codepoint=sys.maxunicode)
by_category = st.one_of(
    *[
        st.characters(categories=[cat])  # type: ignore[list-item]
        for cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs", "Mn", "Me", "So", "Sk", "Lo")
    ]
)
hostile_text = st.text(st.one_of(every_code_point, by_category, st.sampled_from("\\xuU0123abf")))


@settings(max_examples=600)
@given(hostile_text)
@example("\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07")
@example("\x1b]0;owned\x1b\\")
@example("\x1b[31mred\x1b[0m")
@example("\x9b31m\x9d0;t\x9c\x90q\x9c\x98x\x9e\x9f")
@example("\u202eevitca\u202c\u2066\u200b\u200c\u200d\ufeff")
@example("\\\x1b")
@example("\\x1b")
@example("\\\\u202e")
def test_nothing_a_terminal_acts_on_is_emitted_and_the_input_is_recoverable(text: str) -> None:
    for render in (safe_text, safe_multiline):
        rendered = render(text)
        assert emitted_forbidden(rendered.replace("\n", "")) == []
        assert "\x1b" not in rendered and "\x7f" not in rendered
        assert decode(rendered) == text  # injective: nothing is lost, nothing merges
    assert "\n" not in safe_text(text) and "\t" not in safe_text(text)


printable = st.text(
    st.characters(codec=None).filter(
        lambda ch: ch.isprintable() and not forbidden(ch) and ch != "\\"
    )
)


@settings(max_examples=400)
@given(printable)
def test_printable_text_passes_unchanged(text: str) -> None:
    assert safe_text(text) == text
    assert safe_multiline(text) == text
    assert safe_text(safe_text(text)) == text


@given(printable, st.sampled_from(sorted(EMOJI_PARTS | {"\u200b", "\u2060", "\u3164", "\x00"})))
def test_an_invisible_character_always_makes_a_visible_difference(text: str, hidden: str) -> None:
    for position in {0, len(text) // 2, len(text)}:
        spoof = text[:position] + hidden + text[position:]
        if spoof != text and not emitted_forbidden(spoof):
            continue  # an emoji sequence part in its place: visible as the emoji itself
        assert safe_text(spoof) != safe_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "Zoë Ångström",
        "Łukasz Żółć",
        "Ελένη",
        "Пётр Чайковский",
        "山田　太郎",
        "محمد",
        "שלום",
        "हिन्दी",
        "José 👍🏽",
        "👨\u200d👩\u200d👧 family",
        "❤\ufe0f ok",
        "1\ufe0f\u20e3",
        "🇫🇷",
        "\u00a9\ufe0f \u00ae\ufe0f \u2122\ufe0f",
        "\U0001f44b\U0001f3fd\u200d\u2642\ufe0f",
        "CORP\\ursula",
        "C:\\Users\\alice",
        "a\\b",
        "trailing\\",
    ],
)
def test_real_names_and_emoji_pass_unchanged(text: str) -> None:
    assert safe_text(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]52;c;Y3VybA==\x07", "\\x1b]52;c;Y3VybA==\\x07"),
        ("\x1b]0;title\x1b\\", "\\x1b]0;title\\x1b\\"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x9b2J", "\\x9b2J"),
        ("admin\u202e", "admin\\u202e"),
        ("bob\n  inactive", "bob\\x0a  inactive"),
        ("tab\there", "tab\\x09here"),
        ("del\x7f", "del\\x7f"),
        ("nul\x00", "nul\\x00"),
        ("zw\u200bsp", "zw\\u200bsp"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("\\x1b", "\\\\x1b"),
        ("\\\x1b", "\\\\\\x1b"),
        ("adm\u200din", "adm\\u200din"),
        # no emoji around them: a variation selector or joiner after ^, ` or ¨ is invisible
        ("a^\ufe0fb@example.com", "a^\\ufe0fb@example.com"),
        ("a`\ufe0eb", "a`\\ufe0eb"),
        ("a^\u200d^b", "a^\\u200d^b"),
        ("\u00a8\u200d\u00b4", "\u00a8\\u200d\u00b4"),
        ("deg\u00b0\ufe0f", "deg\u00b0\\ufe0f"),
        # the blank braille pattern renders as nothing at all
        ("alice\u2800", "alice\\u2800"),
        ("\u2800\ufe0f", "\\u2800\\ufe0f"),
    ],
)
def test_controls_are_shown_escaped(text: str, shown: str) -> None:
    assert safe_text(text) == shown


def test_multiline_keeps_line_breaks_only() -> None:
    assert safe_multiline("line 1\nline\r2\x1b[2K") == "line 1\nline\\x0d2\\x1b[2K"
    assert safe_text(None) == "" and safe_multiline(None) == ""
    assert safe_text(42) == "42"


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_the_log_pass_escapes_exactly_what_safe_text_escapes(text: str) -> None:
    """``escape_unsafe`` (the service log's last pass, with a shortcut for printable ASCII)
    escapes each character the terminal rule escapes and leaves everything else, backslashes
    included: on text without a backslash it is ``safe_text``, and safe text passes as is."""
    shown = escape_unsafe(text)
    if "\\" not in text:
        assert shown == safe_text(text)
    assert escape_unsafe(shown) == shown


def test_percent_done_rounds_down_and_stays_within_0_to_100() -> None:
    assert percent_done(4_500, 20_000) == 22
    assert percent_done(19_999, 20_000) == 99  # 100 only when done
    assert percent_done(20_000, 20_000) == 100
    assert percent_done(0, 0) == 100  # nothing to do is done
    assert percent_done(30, 20) == 100
    assert percent_done(-5, 20) == 0
