"""Tools of the attack and fault tests: a raw HTTP client, a server on a thread, and a
snapshot of everything the store holds that a request may change.

The raw client writes bytes to a socket, so a test can send what well-behaved HTTP libraries
refuse to (invalid UTF-8 in the path, unknown methods, lying Content-Length, chunked bodies).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pony.orm import db_session

from api.activity import ActivityRecorder
from api.app import create_app
from api.server import ScimServer, bind_socket
from store.config import RateLimitSettings
from store.context import Store, utc_now
from store.services.roles import ensure_default_roles
from store.services.tokens import issue_token

SCIM_JSON = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def is_scim_error(self) -> bool:
        """A SCIM error body (RFC 7644 §3.12) with the response's own status."""
        if self.header("content-type") != SCIM_JSON:
            return False
        try:
            body = self.json
        except ValueError:
            return False
        return (
            isinstance(body, dict)
            and body.get("schemas") == [ERROR_URN]
            and body.get("status") == str(self.status)
            and isinstance(body.get("detail"), str)
            and bool(body["detail"])
        )


def _read_answer(sock: socket.socket) -> Answer:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # the server answered, then dropped an unread upload
            if not data:
                raise
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif len(body) < int(headers.get("content-length", 0)):
        raise ConnectionResetError("the connection closed in the middle of the answer")
    return Answer(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def raw_request(
    port: int,
    method: str | bytes,
    target: str | bytes,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    chunked: bool = False,
    timeout: float = 30.0,
    source: str | None = None,
) -> Answer:
    """One request on its own connection (``Connection: close``), bytes as given. ``source``
    picks the client address (any 127.x.y.z works on Linux loopback)."""
    m = method if isinstance(method, bytes) else method.encode("latin-1")
    t = target if isinstance(target, bytes) else target.encode("latin-1")
    sent = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    if body is not None and not chunked and "Content-Length" not in sent:
        sent["Content-Length"] = str(len(body))
    if chunked:
        sent["Transfer-Encoding"] = "chunked"
    head = m + b" " + t + b" HTTP/1.1\r\n"
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in sent.items()) + b"\r\n"
    payload = body or b""
    if chunked:
        step = 65536
        parts = [payload[i : i + step] for i in range(0, len(payload), step)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    local = (source, 0) if source else None
    with socket.create_connection(("127.0.0.1", port), timeout, local) as sock:
        # The server may answer (413) and close before reading everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + payload)
        return _read_answer(sock)


@dataclass
class RunningApi:
    """The real app on a real waitress server on 127.0.0.1, in a thread of this process."""

    store: Store
    port: int
    token: str
    server: ScimServer
    recorder: ActivityRecorder
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = SCIM_JSON,
        source: str | None = None,
    ) -> Answer:
        sent = {"User-Agent": "Okta SCIM Client 1.0.0", "Accept": SCIM_JSON}
        bearer = self.token if token == "" else token
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        return raw_request(self.port, method, path, sent, data, source=source)

    def flush_activity(self) -> None:
        self.recorder.flush()


def roomy_limits(**overrides: int) -> RateLimitSettings:
    """Limits a single test client never reaches unless the test lowers one on purpose."""
    values = {
        "requests_per_minute": 1_000_000,
        "burst": 1_000_000,
        "auth_failures_per_minute": 1_000_000,
        **overrides,
    }
    return RateLimitSettings(**values)


@contextmanager
def running_api(
    store: Store,
    *,
    threads: int = 4,
    rate_limit: RateLimitSettings | None = None,
    **api_overrides: Any,
) -> Iterator[RunningApi]:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    api = replace(store.settings.api, public_url=f"http://127.0.0.1:{port}", **api_overrides)
    settings = replace(store.settings, api=api, rate_limit=rate_limit or roomy_limits())
    live = replace(store, settings=settings, clock=utc_now)
    ensure_default_roles(live)  # as `serve` does
    recorder = ActivityRecorder(live, flush_seconds=0.2).start()
    server = ScimServer(
        create_app(live, recorder=recorder),
        sock,
        threads=threads,
        max_body_bytes=api.max_body_bytes,
    ).start()
    token = issue_token(live, "Okta SCIM", "operator:test", rate_limit=1_000_000).secret
    try:
        yield RunningApi(live, port, token, server, recorder)
    finally:
        server.stop()
        recorder.close()


# ---- what a request may change -------------------------------------------------------------


def _rows(query: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(repr(v) for v in row) for row in query), key=repr)


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a SCIM request could write, in a comparable form. Excluded on purpose:
    the request log, rate-limit buckets and Last Used, which every request may touch."""
    db = store.db
    with db_session:
        return {
            "users": _rows(
                (
                    u.id,
                    u.user_name,
                    u.user_name_key,
                    u.external_id,
                    u.display_name,
                    u.active,
                    u.version,
                    u.document,
                    u.deleted_at,
                    u.last_modified,
                )
                for u in db.User.select()
            ),
            "emails": _rows((e.user.id, e.value, e.type, e.primary) for e in db.UserEmail.select()),
            "groups": _rows(
                (
                    g.id,
                    g.display_name,
                    g.external_id,
                    g.version,
                    g.document,
                    g.member_count,
                    g.last_modified,
                )
                for g in db.Group.select()
            ),
            "memberships": _rows((m.group.id, m.user.id) for m in db.Membership.select()),
            "roles": _rows((r.name,) for r in db.Role.select()),
            "mappings": _rows(
                (m.group_name_key, m.role.name) for m in db.GroupRoleMapping.select()
            ),
            "assignments": _rows(
                (a.user.id, a.role.name, a.source, a.via_group) for a in db.RoleAssignment.select()
            ),
            "sessions": _rows((s.id, s.ended_at, s.end_reason) for s in db.Session.select()),
            "tokens": _rows(
                (t.id, t.name_key, t.revoked_at, t.rate_limit) for t in db.ScimToken.select()
            ),
            "audit": db.AuditEvent.select().count(),
        }


def snapshot_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before if before[key] != after[key]]


def database_text(url: str) -> str:
    """Every byte the database keeps, as text, to grep for secrets: the SQLite file and its
    write-ahead log (raw pages, deleted rows included), or a PostgreSQL data dump."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
        # Read by another process: closing a file descriptor of the database in this process
        # would drop the POSIX locks this process's own SQLite connections hold on it, and
        # another process could then reset the WAL under them (the classic way to corrupt
        # an SQLite file).
        done = subprocess.run(["cat", *files], capture_output=True, timeout=60, check=True)
        return done.stdout.decode("latin-1")
    done = subprocess.run(["pg_dump", "--data-only", "--no-owner", url], capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    return done.stdout
