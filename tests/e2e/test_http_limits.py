"""Limits and envelopes as a real HTTP client meets them through waitress."""

from __future__ import annotations

import http.client
import json
import socket

from tests.e2e.conftest import SCIM_JSON, LiveServer, error_of

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_oversized_body_is_scim_413(live: LiveServer) -> None:
    client = live.client()
    body = {"schemas": [USER], "userName": "big@example.com", "title": "x" * (2 << 20)}
    error_of(client.post("/Users", body), 413)
    assert client.get("/Users").json["totalResults"] == 0


def test_chunked_oversized_body_is_scim_413(live: LiveServer) -> None:
    host, port = live.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    payload = json.dumps({"schemas": [USER], "userName": "c@example.com", "title": "y" * (2 << 20)})

    def chunks():  # type: ignore[no-untyped-def]
        data = payload.encode()
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    conn.request("POST", "/scim/v2/Users", body=chunks(), encode_chunked=True, headers={
        "Authorization": f"Bearer {live.token}", "Content-Type": SCIM_JSON,
        "Transfer-Encoding": "chunked"})  # fmt: skip
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 413 and body["status"] == "413"
    assert response.getheader("content-type") == SCIM_JSON


def test_chunked_small_body_is_accepted(live: LiveServer) -> None:
    host, port = live.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    data = json.dumps({"schemas": [USER], "userName": "chunky@example.com"}).encode()
    conn.request(
        "POST",
        "/scim/v2/Users",
        body=iter([data[:10], data[10:]]),
        encode_chunked=True,
        headers={"Authorization": f"Bearer {live.token}", "Content-Type": SCIM_JSON},
    )
    response = conn.getresponse()
    assert response.status == 201, response.read()


def test_garbage_on_the_wire_never_gets_a_5xx(live: LiveServer) -> None:
    host, port = live.url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {live.token}\r\n".encode()
    requests = [
        b"GET /scim/v2/Users?filter=%ZZ%00 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        b"GET /scim/v2/Users/%00 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        b"GET /scim/v2/Users/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5\r\n" + auth + b"\r\n\xff\xfe\xfd{[",
        b"PATCH /scim/v2/Users/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n" + auth + b"\r\n{}",
        b"BREW /scim/v2/Users HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
    ]
    for raw in requests:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(raw)
            head = sock.recv(65536).split(b"\r\n", 1)[0]
        status = int(head.split()[1])
        assert 400 <= status < 500, (raw[:60], head)
