"""The pure rules of IdP connections: names, kinds, and the status an operator reads, which
applies the one staleness rule of tokens (``domain.tokens.stale_since``) to the connection's
most recent activity, so a connection is stale exactly when every active token is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.domain import connections as rules
from store.domain.scope import OPERATOR, Scope
from store.domain.tokens import stale_since
from store.errors import InvalidInput

NOW = datetime(2026, 3, 1, 12, 0)
moments = st.integers(min_value=0, max_value=96 * 60).map(lambda m: NOW - timedelta(minutes=m))


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (" Okta ", "Okta"),
        ("Entre\u0301e", "Entr\u00e9e"),
        ("J" * 64, "J" * 64),
        ("東京 IdP", "東京 IdP"),
    ],
)
def test_good_names_are_trimmed_and_nfc(raw: str, stored: str) -> None:
    assert rules.clean_name(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "  ", None, 7, "J" * 65, "a\tb", "a\x00b", "a\u202eb", "a\u200bb", "a\u2028b"]
)
def test_bad_names_are_one_line_invalid_input(raw: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.clean_name(raw)
    assert caught.value.message and "\n" not in caught.value.message
    assert "\u202e" not in caught.value.message  # never echoes the character it names


def test_keys_fold_like_token_names_and_kinds_are_a_closed_list() -> None:
    assert rules.name_key("STRASSE") == rules.name_key("Straße") == "strasse"
    assert rules.clean_kind(None) is None and rules.clean_kind(" ") is None
    assert rules.clean_kind("Entra") == "entra"
    with pytest.raises(InvalidInput, match="okta, entra, jumpcloud, other"):
        rules.clean_kind("google\x1b[2J")


@given(
    tokens=st.lists(st.tuples(st.none() | moments, moments), max_size=4),
    hours=st.sampled_from([0.0, 1.0, 24.0, 48.0]),
)
def test_status_is_stale_exactly_when_every_active_token_is(
    tokens: list[tuple[datetime | None, datetime]], hours: float
) -> None:
    status = rules.status(tokens, NOW, hours)
    if not tokens:
        assert status == rules.NO_TOKENS
        return
    each = [stale_since(used or created, NOW, hours) is not None for used, created in tokens]
    assert status == (rules.STALE if all(each) else rules.ACTIVE)


def test_last_used_is_the_newest_of_the_tokens() -> None:
    early, late = NOW - timedelta(hours=2), NOW - timedelta(minutes=1)
    assert rules.last_used([None, early, late, None]) == late
    assert rules.last_used([None]) is None


def test_the_operator_scope_sees_all_and_a_token_scope_its_own() -> None:
    assert OPERATOR.sees(1) and OPERATOR.sees(2) and OPERATOR.operator
    assert Scope(1).sees(1) and not Scope(1).sees(2) and not Scope(1).operator


# ---- allowed userName domains -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("corp.example", ("corp.example",)),
        (" CORP.Example , b.example,corp.example,", ("b.example", "corp.example")),
        (["*.Corp.example", "xn--bcher-kva.example"], ("*.corp.example", "xn--bcher-kva.example")),
        ("a" * 63 + ".example", ("a" * 63 + ".example",)),
        (".".join(["a" * 61] * 4), (".".join(["a" * 61] * 4),)),  # 247 characters
    ],
)
def test_domains_are_lower_cased_sorted_and_without_repeats(
    raw: object, stored: tuple[str, ...]
) -> None:
    assert rules.clean_domains(raw) == stored
    assert rules.domains_of(rules.stored_domains(stored)) == stored


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "at least one"),
        (" , ,", "at least one"),
        ("bücher.example", "xn--"),
        ("ｃｏｒｐ.example", "xn--"),
        ("*.example.*", "not a domain name"),
        ("corp.*.example", "not a domain name"),
        ("*corp.example", "not a domain name"),
        ("corp..example", "not a domain name"),
        ("corp.example.", "not a domain name"),
        ("-corp.example", "not a domain name"),
        ("corp-.example", "not a domain name"),
        ("corp_x.example", "not a domain name"),
        ("user@corp.example", "not a domain name"),
        ("a" * 64 + ".example", "not a domain name"),
        (".".join(["a" * 63] * 4), "not a domain name"),  # 255 characters
        ("corp.example\x1b[2J", "not a domain name"),
        (",".join(f"d{i}.example" for i in range(51)), "at most 50"),
        (42, "comma-separated"),
    ],
)
def test_bad_domains_are_refused_with_one_line(raw: object, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.clean_domains(raw)
    assert says in refused.value.message
    assert "\x1b" not in refused.value.message and "\n" not in refused.value.message


@pytest.mark.parametrize(
    ("user_name", "allowed"),
    [
        ("dana@corp.example", True),
        ("DANA@CORP.EXAMPLE", True),
        ("dana＠ｃｏｒｐ.example", True),  # folds to dana@corp.example, its uniqueness key
        ("dana@sub.corp.example", False),
        ("dana@x.y.dept.example", True),  # *.dept.example
        ("dana@dept.example", False),  # a wildcard is for subdomains only
        ("dana@corp.example.evil.test", False),
        ("dana@evil.test@corp.example", False),
        ("evil@corp.example＠evil.test", False),  # "＠" folds to "@": two of them
        ("dana@bücher.example", True),
        ("dana@XN--BCHER-KVA.example", True),
        ("dana@corp.exаmple", False),  # Cyrillic 'а'
        ("dana@corp.example.", False),
        ("dana", False),
        ("@corp.example", False),
        ("dana@", False),
    ],
)
def test_a_user_name_is_allowed_only_with_one_at_and_an_allowed_domain(
    user_name: str, allowed: bool
) -> None:
    domains = rules.clean_domains("corp.example,*.dept.example,xn--bcher-kva.example")
    assert rules.user_name_allowed(user_name, domains) is allowed
    assert rules.user_name_allowed(user_name, ()) is True  # no domains: any userName
    if not allowed:
        with pytest.raises(InvalidInput) as refused:
            rules.check_user_name(user_name, domains)
        assert "@*.dept.example, @corp.example, @xn--bcher-kva.example" in refused.value.message


@given(st.text(max_size=40))
def test_any_user_name_either_has_a_host_domain_or_none(user_name: str) -> None:
    domain = rules.user_name_domain(user_name)
    assert domain is None or (domain.isascii() and rules.clean_domains(domain) == (domain,))
