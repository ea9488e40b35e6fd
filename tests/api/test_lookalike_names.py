"""Names that hold an invisible character which is not a format character (a Hangul filler,
the combining grapheme joiner, the blank braille pattern, a variation selector outside an
emoji) would pass for another name: refused like zero-width and bidi characters, on POST,
PUT and PATCH, for users and groups. Emoji with their variation selectors stay accepted."""

from __future__ import annotations

import pytest

from tests.api.conftest import GROUP_URN, USER_URN, Scim, assert_scim_error, patch_op

HIDDEN = ["\u3164", "\u115f", "\u034f", "\u2800", "\ufe0f", "\U000e0100", "\u180b"]


@pytest.mark.parametrize("hidden", HIDDEN)
def test_a_user_name_with_a_hidden_letter_is_refused(scim: Scim, hidden: str) -> None:
    victim = scim.create_user("victim@example.com")
    spoof = f"victim{hidden}@example.com"
    body = {"schemas": [USER_URN], "userName": spoof, "active": True}
    assert_scim_error(scim.post("/Users", body), 400, "invalidValue")
    renamed = scim.patch(
        f"/Users/{victim['id']}",
        patch_op({"op": "replace", "path": "displayName", "value": f"Vic{hidden}"}),
    )
    assert_scim_error(renamed, 400, "invalidValue")
    put = scim.put(f"/Users/{victim['id']}", {**body, "userName": f"victim@example.com{hidden}"})
    assert_scim_error(put, 400, "invalidValue")


@pytest.mark.parametrize("hidden", HIDDEN)
def test_a_group_name_with_a_hidden_letter_is_refused(scim: Scim, hidden: str) -> None:
    body = {"schemas": [GROUP_URN], "displayName": f"Admins{hidden}"}
    assert_scim_error(scim.post("/Groups", body), 400, "invalidValue")


@pytest.mark.parametrize(
    "name", ["Jane \u2764\ufe0f", "Dev \U0001f44d\U0001f3fd", "\u00a9\ufe0f Legal", "Zoë"]
)
def test_emoji_and_letters_in_display_names_stay_accepted(scim: Scim, name: str) -> None:
    user = scim.create_user("jane@example.com", displayName=name)
    assert user["displayName"] == name
    assert scim.create_group(name)["displayName"] == name


@pytest.mark.xfail(
    strict=True,
    reason="mixed-script confusables (UTS #39) are not detected: a Cyrillic letter makes a "
    "new name that looks like an existing one",
)
@pytest.mark.parametrize("spoof", ["\u0430dmin@example.com", "admin@ex\u0430mple.com"])
def test_a_user_name_that_only_looks_like_another_is_refused(scim: Scim, spoof: str) -> None:
    scim.create_user("admin@example.com")
    body = {"schemas": [USER_URN], "userName": spoof, "active": True}
    assert scim.post("/Users", body).status_code in (400, 409)
