"""``deploy/nginx/`` as shipped, run by a real nginx on 127.0.0.1 in front of two real API
processes and a stand-in for Control's web application. The location and auth-request
includes are used byte for byte inside the example Control server block; only the upstream's
ports, the listening port, Control's address and a throwaway certificate are this machine's.
Checked: ``nginx -t``, TLS termination, both processes serving SCIM, the ``auth_request``
flow (signed in -> identity headers passed on; not signed in or session ended -> sent to sign
in; sign-in page reachable; identity headers from the client never trusted), and /metrics
never proxied. Skipped where nginx or openssl is missing, except in CI (``CI=true``, where
``.ci/run`` installs nginx): there a missing nginx fails the test."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.bench.load import USER
from tests.multiprocess.conftest import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
SNIPPETS = ("trident-scim-locations.conf", "trident-scim-auth-request.conf")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
if NGINX is None or shutil.which("openssl") is None:
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the nginx deployment test: install nginx and openssl "
                    "(.ci/run does)", pytrace=False)  # fmt: skip
    pytest.skip("nginx and openssl are needed for the deployment test", allow_module_level=True)


class _ControlWeb(BaseHTTPRequestHandler):
    """Stands in for Control's web tier: answers with the identity nginx handed it."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        body = json.dumps({"path": self.path, "user": self.headers.get("X-Auth-User"),
                           "roles": self.headers.get("X-Auth-Roles")}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _edited(path: Path, edits: list[tuple[str, str]]) -> str:
    text = path.read_text()
    for old, new in edits:
        assert old in text, f"{old!r} is no longer in {path.name}: update this test"
        text = text.replace(old, new)
    return text


def _render(directory: Path, api_ports: list[int], web_port: int, port: int) -> Path:
    """The shipped files with this machine's ports and a throwaway certificate."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)  # fmt: skip
    upstream = _edited(DEPLOY / "trident-scim-upstream.conf", [
        ("127.0.0.1:8081", f"127.0.0.1:{api_ports[0]}"),
        ("127.0.0.1:8082", f"127.0.0.1:{api_ports[1]}"),
    ])  # fmt: skip
    site = _edited(DEPLOY / "control-server.example.conf", [
        ("127.0.0.1:9000", f"127.0.0.1:{web_port}"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/ssl/control/fullchain.pem", str(cert)),
        ("/etc/ssl/control/privkey.pem", str(key)),
    ])  # fmt: skip
    (directory / "snippets").mkdir()
    for name in SNIPPETS:  # as shipped: relative includes resolve next to nginx.conf
        shutil.copy(DEPLOY / name, directory / "snippets" / name)
    (directory / "upstream.conf").write_text(upstream)
    (directory / "site.conf").write_text(site)
    main = directory / "nginx.conf"
    temp = "".join(f"    {kind}_temp_path {directory / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    main.write_text(
        f"daemon off;\nmaster_process off;\nworker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    access_log {directory / 'access.log'};\n{temp}"
        f"    include {directory / 'upstream.conf'};\n    include {directory / 'site.conf'};\n}}\n"
    )
    return main


@dataclass
class Front:
    port: int

    def get(self, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        context = ssl._create_unverified_context()  # a throwaway self-signed certificate
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=context)
        conn.request("GET", path, headers={"Host": "control.example.com", **(headers or {})})
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        conn.close()
        return response


@pytest.fixture
def front(pair: Cluster, tmp_path: Path) -> Iterator[Front]:
    web = ThreadingHTTPServer(("127.0.0.1", 0), _ControlWeb)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    port = _free_port()
    config = _render(tmp_path, [s.port for s in pair.servers], web.server_address[1], port)
    check = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr.decode()
    nginx = subprocess.Popen([NGINX, "-c", str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert nginx.poll() is None, nginx.stderr.read().decode()  # type: ignore[union-attr]
                time.sleep(0.05)
        yield Front(port)
    finally:
        nginx.terminate()
        nginx.wait(10)
        web.shutdown()


def _upstream_connections(port: int) -> int:
    """Established TCP connections to a local port (nginx keeps them alive)."""
    wanted = f":{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(wanted) and fields[3] == "01":
                count += 1
    return count


def test_scim_through_nginx_reaches_both_api_processes(pair: Cluster, front: Front) -> None:
    token = pair.token("Okta through nginx", rate_limit=1_000_000)
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(20):
        reply = front.get("/scim/v2/Users?count=1", auth)
        assert reply.status == 200 and reply.getheader("Content-Type") == "application/scim+json"
    for server in pair.servers:  # least_conn spread the requests over both processes
        assert _upstream_connections(server.port) >= 1
    refused = front.get("/scim/v2/Users", {"X-Request-Id": "client-chosen-id"})
    assert refused.status == 401 and refused.getheader("WWW-Authenticate", "").startswith("Bearer")
    request_id = refused.getheader("X-Request-Id", "")  # nginx's own $request_id, 32 hex digits
    assert len(request_id) == 32 and request_id in json.loads(refused.body)["detail"]  # type: ignore[attr-defined]


def test_auth_request_lets_signed_in_users_through_and_sends_others_to_sign_in(
    pair: Cluster, front: Front
) -> None:
    token = pair.token("Entra through nginx", rate_limit=1_000_000)
    created = pair.client(0, token).post(
        "/scim/v2/Users", {"schemas": [USER], "userName": "web@example.com"}
    )
    assert created.status == 201
    forged = {"X-Auth-User": "admin@example.com", "X-Auth-Roles": "admin"}
    anonymous = front.get("/dashboard", forged)
    assert anonymous.status == 302 and anonymous.getheader("Location", "").endswith("/sso/login")
    sign_in = front.get("/sso/login", forged)  # reachable without a session: no loop
    assert sign_in.status == 200
    assert json.loads(sign_in.body)["user"] in (None, "")  # type: ignore[attr-defined]
    cookie = pair.cli("session", "start", "web@example.com").strip().splitlines()[-1]
    browser = {**forged, "Cookie": f"control_session={cookie}"}
    signed_in = front.get("/dashboard", browser)
    assert signed_in.status == 200
    seen = json.loads(signed_in.body)  # type: ignore[attr-defined]
    assert seen["path"] == "/dashboard" and seen["user"] == "web@example.com"
    assert "admin" not in (seen["roles"] or "")  # the forged header was replaced
    pair.cli("session", "end", "web@example.com")
    ended = front.get("/dashboard", browser)
    assert ended.status == 302 and ended.getheader("Location", "").endswith("/sso/login")


def test_metrics_and_probes_are_not_proxied_to_the_api(pair: Cluster, front: Front) -> None:
    for path in ("/metrics", "/scim/v2/../metrics"):
        reply = front.get(path)
        assert b"trident_scim_" not in reply.body  # type: ignore[attr-defined]
    # Through nginx /metrics is Control's (here: sign-in), never the API's.
    assert front.get("/metrics").status == 302
