"""A second IdP connection (its own token) must not undo what the first IdP decided about the
first IdP's users. Open: IdP connections and token scoping are being built elsewhere; until
then this documents the attack and is expected to fail. Real app and store, both backends."""

from __future__ import annotations

import falcon
import pytest

from store.context import Store
from store.services.tokens import issue_token
from tests.api.conftest import Scim, patch_op


@pytest.mark.xfail(
    strict=True, reason="any token may change any user: tokens are not yet scoped to an IdP"
)
def test_a_second_idp_cannot_reactivate_a_user_the_first_idp_deactivated(
    scim: Scim, app: falcon.App, api_store: Store
) -> None:
    okta_user = scim.create_user("leaver@example.com", externalId="00uLEAVER")
    off = patch_op({"op": "replace", "path": "active", "value": False})
    assert scim.patch(f"/Users/{okta_user['id']}", off).status_code == 200
    entra = Scim(app, issue_token(api_store, "Entra SCIM", "operator:test").secret)
    found = entra.get("/Users", params={"filter": 'userName eq "leaver@example.com"'})
    for resource in found.json.get("Resources", []):
        on = patch_op({"op": "replace", "path": "active", "value": True})
        entra.patch(f"/Users/{resource['id']}", on)
    assert scim.get(f"/Users/{okta_user['id']}").json["active"] is False
