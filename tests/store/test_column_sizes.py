"""Each text column's size has one source, ``store.domain.limits``: the entities (``store.db``)
declare it from there, the store cuts or refuses text to it, and the schema the migrations
made must hold exactly that size, on both backends. A limit changed without its migration
fails here, naming the column."""

from __future__ import annotations

import re

from pony.orm import db_session

from store import sql
from store.context import Store
from store.domain import limits

COLUMNS: dict[tuple[str, str], int] = {
    # connections (a name an upgrade took from a token may be as long as a token's name)
    ("scim_connection", "name"): limits.TOKEN_NAME,
    ("scim_connection", "name_key"): limits.TOKEN_NAME,
    # resources
    ("scim_user", "id"): limits.ID,
    ("scim_user", "user_name"): limits.USER_NAME,
    ("scim_user", "user_name_key"): limits.USER_NAME,
    ("scim_user", "external_id"): limits.EXTERNAL_ID,
    ("scim_user", "display_name"): limits.DISPLAY_NAME,
    ("scim_user", "display_name_key"): limits.DISPLAY_NAME,
    ("scim_user", "given_name_key"): limits.NAME_PART,
    ("scim_user", "family_name_key"): limits.NAME_PART,
    ("scim_user", "held_by"): limits.ACTOR,
    ("scim_user", "hold_reason"): limits.HOLD_REASON,
    ("scim_user_email", "value"): limits.EMAIL,
    ("scim_user_email", "value_key"): limits.EMAIL,
    ("scim_user_email", "type"): limits.EMAIL_TYPE,
    ("scim_group", "id"): limits.ID,
    ("scim_group", "display_name"): limits.DISPLAY_NAME,
    ("scim_group", "display_name_key"): limits.DISPLAY_NAME,
    ("scim_group", "external_id"): limits.EXTERNAL_ID,
    # roles and the mapping
    ("control_role", "name"): limits.ROLE_NAME,
    ("control_role", "description"): limits.ROLE_DESCRIPTION,
    ("sso_group_role_mapping", "group_name"): limits.DISPLAY_NAME,
    ("sso_group_role_mapping", "group_name_key"): limits.DISPLAY_NAME,
    ("sso_group_role_mapping", "created_by"): limits.ACTOR,
    ("control_role_assignment", "via_group"): limits.DISPLAY_NAME,
    ("control_role_assignment", "granted_by"): limits.ACTOR,
    ("role_recompute_pending", "group_name_key"): limits.DISPLAY_NAME,
    ("role_recompute_pending", "actor"): limits.ACTOR,
    ("role_recompute_pending", "after_user"): limits.ID,
    ("role_recompute_pending", "group_id"): limits.ID,
    # sessions and tokens
    ("control_session", "secret_hash"): limits.SECRET_HASH,
    ("control_session", "end_reason"): limits.SESSION_END,
    ("control_session", "client_address"): limits.ADDRESS,
    ("control_session", "user_agent"): limits.USER_AGENT,
    ("scim_token", "name"): limits.TOKEN_NAME,
    ("scim_token", "name_key"): limits.TOKEN_NAME,
    ("scim_token", "prefix"): limits.TOKEN_PREFIX,
    ("scim_token", "secret_hash"): limits.SECRET_HASH,
    ("scim_token", "created_by"): limits.ACTOR,
    ("scim_token", "revoked_by"): limits.ACTOR,
    ("rate_bucket", "key"): limits.RATE_KEY,
    # what the service records of its own work
    ("audit_event", "actor"): limits.ACTOR,
    ("audit_event", "action"): limits.AUDIT_ACTION,
    ("audit_event", "target_id"): limits.AUDIT_TARGET_ID,
    ("audit_event", "target_name"): limits.AUDIT_TARGET_NAME,
    ("audit_event", "detail"): limits.DETAIL,
    ("request_activity", "token_name"): limits.TOKEN_NAME,
    ("request_activity", "client"): limits.CLIENT,
    ("request_activity", "method"): limits.REQUEST_METHOD,
    ("request_activity", "path"): limits.REQUEST_PATH,
    ("request_activity", "query"): limits.REQUEST_QUERY,
    ("request_activity", "scim_type"): limits.SCIM_TYPE,
    ("request_activity", "detail"): limits.DETAIL,
    ("request_activity", "user_agent"): limits.USER_AGENT,
    ("request_activity", "connection"): limits.TOKEN_NAME,
    ("worker_job_run", "job"): limits.JOB_NAME,
    ("worker_job_run", "summary"): limits.DETAIL,
    ("worker_job_run", "error"): limits.JOB_ERROR,
    ("worker_job_run", "holder"): limits.HOLDER,
    ("worker_lease", "name"): limits.JOB_NAME,
    ("worker_lease", "holder"): limits.HOLDER,
}

_VARCHAR = re.compile(r"VARCHAR\((\d+)\)", re.IGNORECASE)


def _live_sizes(store: Store) -> dict[tuple[str, str], int | None]:
    """Each listed column's size in the live schema (None: no size, or no such column)."""
    found: dict[tuple[str, str], int | None] = {}
    with db_session:
        if store.provider == "sqlite":
            for table in sorted({t for t, _ in COLUMNS}):
                # PRAGMA takes no bound parameters; the table names are the test's own.
                for row in sql.select_rows(store.db, f'PRAGMA table_info("{table}")'):
                    size = _VARCHAR.fullmatch(str(row[2]).strip())
                    found[table, str(row[1])] = int(size.group(1)) if size else None
        else:
            rows = sql.select_rows(
                store.db,
                "SELECT table_name, column_name, character_maximum_length "
                "FROM information_schema.columns WHERE table_schema = current_schema()",
            )
            found = {(str(t), str(c)): None if n is None else int(n) for t, c, n in rows}
    return found


def test_every_text_column_holds_exactly_its_limit(store: Store) -> None:
    live = _live_sizes(store)
    wrong = {
        f"{table}.{column}: schema {live.get((table, column))}, limits {size}"
        for (table, column), size in COLUMNS.items()
        if live.get((table, column)) != size
    }
    assert not wrong, sorted(wrong)
