"""The one rule for text the databases can hold (``store.domain.text``), and that every
path that refuses or replaces such text uses it rather than a copy of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.scim.errors import ScimError
from api.scim.filter import parse_filter
from api.scim.mapping import user_input_from_scim
from store.domain.text import is_forbidden, storable, text_problem
from store.domain.validation import check_document, check_text
from store.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain", None),
        ("", None),
        ("Straße \U0001f600 \ud7ff \ue000 \uffff", None),
        ("nul\x00", "contains a NUL character"),
        ("é\x00", "contains a NUL character"),
        ("lone \ud800", "contains an unpaired surrogate"),
        ("lone \udfff", "contains an unpaired surrogate"),
    ],
)
def test_text_problem(value: str, problem: str | None) -> None:
    assert text_problem(value) == problem
    assert (problem is None) == all(not is_forbidden(c) for c in value)


def test_storable_replaces_only_what_no_database_holds() -> None:
    assert storable("a\x00b\ud800c\U0001f600") == "a\ufffdb\ufffdc\U0001f600"
    assert storable("ascii") == "ascii"


@pytest.mark.parametrize("bad", ["x\x00y", "x\udc00y"])
def test_every_edge_refuses_the_same_text(bad: str) -> None:
    problem = text_problem(bad)
    assert problem is not None
    with pytest.raises(ScimError) as caught:
        parse_filter(f"userName eq {json.dumps(bad)}", "User")
    assert caught.value.scim_type == "invalidFilter" and problem in caught.value.detail
    with pytest.raises(ScimError) as caught:
        user_input_from_scim({"schemas": [CORE], "userName": "u", "displayName": bad})
    assert caught.value.scim_type == "invalidValue" and problem in caught.value.detail
    with pytest.raises(InvalidInput) as refused:
        check_text(bad, "displayName", 100)
    assert problem in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        check_document({"k": [bad]}, "document")
    assert problem in refused.value.message


def test_no_module_writes_the_rule_again() -> None:
    """The surrogate range and the NUL test live in store/domain/text.py alone."""
    for package in ("api", "store", "cli", "tui", "worker"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "store/domain/text.py" or "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            for copy in (
                "0xD800",
                "0xd800",
                "0xDFFF",
                '"\\x00" in',
                'encode("utf-8")\n    except UnicodeEncodeError',
            ):
                assert copy not in source, (path, copy)
