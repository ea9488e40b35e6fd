"""An operator's deactivation during an incident must hold against the IdP (or a leaked
token) sending ``active: true`` again (the operator hold). Real app and store, both
backends."""

from __future__ import annotations

import pytest

from store.context import Store
from store.errors import InvalidInput
from store.services.lifecycle import deactivate_user
from store.services.sessions import start_session
from tests.api.conftest import USER_URN, Scim, patch_op


@pytest.mark.parametrize("how", ["patch", "put"])
def test_an_operator_deactivation_survives_the_idps_active_true(
    scim: Scim, api_store: Store, how: str
) -> None:
    user = scim.create_user("mallory@example.com")
    deactivate_user(api_store, user["id"], "operator:alice")
    if how == "patch":
        body = patch_op({"op": "replace", "value": {"active": True}})
        assert scim.patch(f"/Users/{user['id']}", body).status_code == 200
    else:
        body = {"schemas": [USER_URN], "userName": "mallory@example.com", "active": True}
        assert scim.put(f"/Users/{user['id']}", body).status_code == 200
    with pytest.raises(InvalidInput):
        start_session(api_store, "mallory@example.com", "sso")
