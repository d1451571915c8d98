"""The optional plain-HTTP port: a 308 to the same URL over HTTPS by default, or (with
--http-serve, for local development) the mocks themselves with X-Forwarded-Proto: http."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from tests.conftest import Platform, deploy_body, free_port, running_platform
from tests.e2e.test_platform import env

REDIRECT_PORT = free_port()
SERVE_PORT = free_port()


@pytest.fixture(scope="module")
def redirecting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "redirect", "--http-port", str(REDIRECT_PORT))


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "plain", "--http-port", str(SERVE_PORT), "--http-serve")


def plain(port: int, host: str, method: str, path: str, body: bytes | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": host})
    response = conn.getresponse()
    response.read()
    return response


def test_plain_http_redirects_to_https_and_keeps_the_method(redirecting: Platform) -> None:
    status, answer = redirecting.api("POST", "/deployments", deploy_body(env("redirected", body="{{method}} {{urlParam 'x'}}")))
    assert status == 200, answer
    host = redirecting.host(answer["subdomain"])
    conn = http.client.HTTPConnection("127.0.0.1", REDIRECT_PORT, timeout=10)
    for method, body in (("GET", None), ("POST", b'{"a": 1}')):  # one keep-alive connection, body drained
        conn.request(method, "/hello?q=1", body=body, headers={"Host": host})
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 308
        assert response.headers["Location"] == f"https://{host}:{redirecting.port}/hello?q=1"
        assert payload["message"].startswith("this platform is served over HTTPS")
    # the target answers over HTTPS; unknown hosts get the usual 404, not a redirect
    assert redirecting.request(host, "GET", "/hello")[2] == b"GET "
    assert plain(REDIRECT_PORT, redirecting.host("nobody"), "GET", "/").status == 404


def test_plain_http_can_serve_mocks_when_asked(serving: Platform) -> None:
    status, answer = serving.api("POST", "/deployments",
                                 deploy_body(env("plain", body="{{header 'X-Forwarded-Proto'}}")))
    assert status == 200, answer
    host = serving.host(answer["subdomain"])
    conn = http.client.HTTPConnection("127.0.0.1", SERVE_PORT, timeout=10)
    conn.request("GET", "/hello", headers={"Host": host})
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"http")
    assert serving.request(host, "GET", "/hello")[2] == b"https"


def test_only_origin_form_targets_are_redirected(redirecting: Platform) -> None:
    """``GET @evil.example/x`` used to get ``Location: https://<host>:<port>@evil.example/x``,
    whose host is evil.example: an open redirect."""
    status, answer = redirecting.api("POST", "/deployments", deploy_body(env("no-open-redirect")))
    assert status == 200, answer
    host = redirecting.host(answer["subdomain"])
    import socket

    for target in (b"@evil.example/x", b"http://evil.example/x", b"*", b"evil.example:443"):
        with socket.create_connection(("127.0.0.1", REDIRECT_PORT), timeout=10) as sock:
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
            received = b""
            while b"\r\n\r\n" not in received and (data := sock.recv(4096)):
                received += data
        head = received.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 400") and b"location" not in head, (target, received)
    assert plain(REDIRECT_PORT, host, "GET", "//evil.example/x").getheader("Location") == \
        f"https://{host}:{redirecting.port}//evil.example/x"  # a path: stays on our host
