"""Group names are matched by ``names.group_key`` (trimmed, NFC, lower case; no compatibility
folding): stored group and mapping keys are rewritten, and IdP roles that only a look-alike
match gave (fullwidth ``Ａdmins`` holding the roles mapped to ``Admins``) are removed and
audited. A data step only: the schema does not change."""

from datetime import UTC, datetime

from yoyo import step

from store import dbapi
from store.group_name_keys import recompute_group_name_keys

__depends__ = {"0001_baseline"}


def _rekey(connection: dbapi.Connection) -> None:
    recompute_group_name_keys(connection, datetime.now(UTC).replace(tzinfo=None))


steps = [step(_rekey)]
