"""Write the v0.1.0 database fixtures the upgrade test loads (run once, at tag ``v0.1.0``).

    git worktree add /tmp/v010 v0.1.0 && cp tests/upgrade/make_fixture.py /tmp/v010/tests/
    cd /tmp/v010 && python -m tests.make_fixture OUT_DIR

For each backend it creates a database with v0.1.0's own schema creation (Pony's
``generate_mapping(create_tables=True)``), puts rows in every table through the real API and
services, and writes ``v0_1_0_<backend>.sql`` (the DDL Pony emits plus one INSERT per row)
and ``v0_1_0_<backend>.json`` (the token and session secrets issued, and what to expect).
The secrets are made from fixed bytes: they are test data, valid only in these fixtures.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import falcon.testing
from pony.orm import db_session

from api.app import create_app
from store.context import Store
from store.records import ActivityInput
from store.services.activity import record_activity
from store.services.jobs import finish_run, start_run
from store.services.lease import acquire_lease
from store.services.roles import ensure_default_roles, grant_role, set_mapping
from store.services.sessions import start_session
from store.services.tokens import issue_token
from tests.support import FakeClock, create_pg_database, drop_pg_database, open_test_store

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _fixed_bytes(seed: int) -> Any:
    def make(n: int) -> bytes:
        return bytes((seed + i) % 256 for i in range(n))

    return make


def seed(store: Store) -> dict[str, Any]:
    ensure_default_roles(store)
    set_mapping(store, "Engineering", "operator", "operator:seed")
    token = issue_token(replace(store, random_bytes=_fixed_bytes(7)), "Okta SCIM", "operator:seed")
    client = falcon.testing.TestClient(create_app(store))
    auth = {"Authorization": f"Bearer {token.secret}", "Content-Type": "application/scim+json"}
    ids = []
    for n, name in enumerate(["ada@example.com", "grace@example.com"]):
        body = {"schemas": [USER], "userName": name, "externalId": f"ext-{n}",
                "name": {"givenName": name[:3].title(), "familyName": "Example"},
                "displayName": name.split("@")[0].title(),
                "emails": [{"value": name, "type": "work", "primary": True}]}  # fmt: skip
        reply = client.simulate_post("/scim/v2/Users", json=body, headers=auth)
        assert reply.status_code == 201, reply.text
        ids.append(reply.json["id"])
    group = {"schemas": [GROUP], "displayName": "Engineering", "externalId": "grp-1",
             "members": [{"value": ids[0]}]}  # fmt: skip
    reply = client.simulate_post("/scim/v2/Groups", json=group, headers=auth)
    assert reply.status_code == 201, reply.text
    grant_role(store, "grace@example.com", "viewer", "operator:seed")
    _, cookie = start_session(replace(store, random_bytes=_fixed_bytes(99)), "ada@example.com",
                              "operator:seed")  # fmt: skip
    acquire_lease(store, "worker", "host-a:123", 60)
    run = start_run(store, "reconcile_roles", "host-a:123")
    finish_run(store, run, "ok", changed=1, summary="1 user")
    record_activity(store, [ActivityInput(at=store.clock(), method="GET", path="/scim/v2/Users",
                                          status=200, latency_ms=1.5, token_id=1)])  # fmt: skip
    return {"token": token.secret, "cookie": cookie, "users": ids, "group": reply.json["id"]}


def _literal(value: Any, backend: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, datetime):
        value = value.isoformat(sep=" ")
    return "'" + str(value).replace("'", "''") + "'"


def dump(store: Store, backend: str) -> str:
    db = store.db
    commands = db.schema.generate_create_script().split(db.schema.command_separator)
    lines = [f"-- trident-scim v0.1.0 database ({backend}): schema as Pony created it, and rows"]
    lines += [command.strip() + ";" for command in commands]
    with db_session:
        by_table = {entity._table_: entity for entity in db.entities.values()}
        for entity in (by_table[t.name] for t in db.schema.order_tables_to_create()):
            table = entity._table_
            cursor = db.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            assert rows, f"no row in {table}"
            order = sorted(range(len(rows)), key=lambda i: [str(v) for v in rows[i]])
            for i in order:
                values = ", ".join(_literal(v, backend) for v in rows[i])
                columns = ", ".join(f'"{name}"' for name in names)
                lines.append(f'INSERT INTO "{table}" ({columns}) VALUES ({values});')
            if backend == "postgresql" and entity._pk_attrs_[0].auto:
                lines.append(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}));")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(out: Path) -> None:
    for backend in ("sqlite", "postgresql"):
        url = f"sqlite:///{out}/seed.db" if backend == "sqlite" else create_pg_database()
        store = replace(open_test_store(url), clock=FakeClock(datetime(2026, 1, 5, 9, 0, 0)))
        try:
            facts = seed(store)
            (out / f"v0_1_0_{backend}.sql").write_text(dump(store, backend))
            (out / f"v0_1_0_{backend}.json").write_text(json.dumps(facts, indent=2) + "\n")
        finally:
            store.close()
            if backend == "postgresql":
                drop_pg_database(url)
            else:
                Path(f"{out}/seed.db").unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
