"""The worker as a real process, over TCP and over its Unix socket."""

from __future__ import annotations

import gzip
import json
import socket

from tests.conftest import make_env


def route(endpoint: str, body: str = "{}", method: str = "get", **response: object) -> dict[str, object]:
    resp = {"body": body, "statusCode": 200, "default": True, **response}
    return {"uuid": f"r-{endpoint}-{method}", "type": "http", "method": method, "endpoint": endpoint, "responses": [resp]}


def test_static_route_over_tcp_and_uds(worker_factory):
    env = make_env([route("hello", '{"ok":true}')])
    for uds in (False, True):
        worker = worker_factory(env, uds=uds)
        status, headers, body = worker.request("GET", "/hello")
        assert status == 200
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert json.loads(body) == {"ok": True}


def test_unknown_path_gets_express_404_and_worker_keeps_serving(worker_factory):
    worker = worker_factory(make_env([route("a")]))
    status, headers, body = worker.request("GET", "/nope")
    assert status == 404
    assert b"<pre>Cannot GET /nope</pre>" in body
    assert headers["x-content-type-options"] == "nosniff"
    assert worker.request("GET", "/a")[0] == 200


def test_template_error_keeps_the_route_status_with_message_then_next_request_is_fine(worker_factory):
    # Mockoon CLI 9.9 answers a helper that throws with the route's status and its error text
    env = make_env([route("bad", "{{faker 'nope.nothing'}}", statusCode=201), route("good", "{{add 1 2}}")])
    worker = worker_factory(env)
    status, headers, body = worker.request("GET", "/bad")
    assert status == 201
    assert body.decode().startswith("Error while serving the content: nope.nothing is not a valid Faker method")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert worker.request("GET", "/good")[2] == b"3"


def test_body_limit_answers_413(worker_factory):
    worker = worker_factory(make_env([route("p", method="post")]), "--max-request-body-size", "1kb")
    status, _, body = worker.request("POST", "/p", body=b"x" * 4096, headers={"Content-Type": "text/plain"})
    assert status == 413
    assert body == b"Payload too large"


def test_gzip_request_body_is_decoded_for_templates(worker_factory):
    worker = worker_factory(make_env([route("echo", "{{body 'name'}}", method="post")]))
    payload = gzip.compress(json.dumps({"name": "zipped"}).encode())
    status, _, body = worker.request("POST", "/echo", body=payload,
                                     headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert (status, body) == (200, b"zipped")


def test_crud_create_then_list_and_paginate(worker_factory):
    env = make_env([{"uuid": "crud1", "type": "crud", "method": "", "endpoint": "users",
                     "responses": [{"bodyType": "DATABUCKET", "databucketID": "b1", "default": True}]}],
                   data=[{"uuid": "d1", "id": "b1", "name": "Users", "value": '[{"id":1,"n":"a"},{"id":2,"n":"b"}]'}])
    worker = worker_factory(env)
    status, _, body = worker.request("POST", "/users", body='{"n":"c"}', headers={"Content-Type": "application/json"})
    assert status == 201 and json.loads(body) == {"n": "c", "id": 3}
    status, headers, body = worker.request("GET", "/users?limit=2&page=2")
    assert status == 200 and headers["x-total-count"] == "3" and json.loads(body) == [{"id": 3, "n": "c"}]
    assert worker.request("DELETE", "/users/1")[0] == 200
    assert worker.request("GET", "/users/1")[0] == 404


def test_file_bodies_are_never_read(worker_factory, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    env = make_env([route("f", bodyType="FILE", filePath=str(secret)),
                    route("g", "fallback body", bodyType="FILE", filePath=str(secret), fallbackTo404=True)])
    worker = worker_factory(env)
    status, _, body = worker.request("GET", "/f")
    assert status == 200 and b"do not serve" not in body and b"ENOENT" in body
    assert worker.request("GET", "/g")[:3:2] == (404, b"fallback body")


def test_env_vars_sequential_mode_and_global_vars(worker_factory):
    seq = {"uuid": "s", "type": "http", "method": "get", "endpoint": "seq", "responseMode": "SEQUENTIAL",
           "responses": [{"body": "one", "default": True}, {"body": "two"}]}
    env = make_env([route("env", "{{getEnvVar 'GREETING'}}"), seq,
                    route("set", "{{setGlobalVar 'k' (queryParam 'v')}}"), route("get", "{{getGlobalVar 'k'}}")])
    worker = worker_factory(env)
    assert worker.request("GET", "/env")[2] == b"hello-env"
    assert [worker.request("GET", "/seq")[2] for _ in range(3)] == [b"one", b"two", b"one"]
    worker.request("GET", "/set?v=42")
    assert worker.request("GET", "/get")[2] == b"42"


def test_cors_preflight_and_route_headers(worker_factory):
    env = make_env([route("h", "x", headers=[{"key": "Set-Cookie", "value": "a=1"}, {"key": "Set-Cookie", "value": "b=2"},
                                               {"key": "X-Q", "value": "{{queryParam 'q'}}"}])])
    worker = worker_factory(env)
    status, headers, _ = worker.request("OPTIONS", "/anything")
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    status, headers, _ = worker.request("GET", "/h?q=v1")
    assert headers["x-q"] == "v1" and headers["set-cookie"] == "a=1, b=2"


def test_node_http_details_header_spaces_methods_and_base_url(worker_factory):
    env = make_env([route("h", "{{baseUrl}}", headers=[{"key": "X-Tpl", "value": "{{method}} {{queryParam 'x'}}"}])])
    worker = worker_factory(env)
    status, headers, body = worker.request("GET", "/h")
    assert status == 200
    assert headers["x-tpl"] == "GET "  # Node keeps a templated value's outer spaces
    assert body.decode() == f"http://127.0.0.1:{worker.port}"  # serve --port is the environment's port
    # Node's parser knows methods by their upper-case names: anything else is a bare 400
    with socket.create_connection(("127.0.0.1", worker.port), timeout=5) as sock:
        sock.sendall(b"get /h HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert worker.request("PATCH", "/h")[0] == 404
    assert worker.request("QUERY", "/h")[0] == 404  # Node 20's parser knows QUERY


def test_request_buckets_are_generated_by_the_first_route_that_names_them(worker_factory):
    data = [{"uuid": "u1", "id": "one", "name": "one", "value": "{\"q\": \"{{queryParam 'q'}}\"}"},
            {"uuid": "u2", "id": "two", "name": "two", "value": "{\"q\": \"{{queryParam 'q'}}\"}"}]
    env = make_env([route("a", "{{data 'one' 'q'}}"), route("b", "{{data 'two' 'q'}}")], data=data)
    worker = worker_factory(env)
    assert worker.request("GET", "/a?q=first")[2] == b"first"
    assert worker.request("GET", "/b?q=second")[2] == b"second"  # 'two' waited for a route naming it
    assert worker.request("GET", "/b?q=third")[2] == b"second"  # and is generated once
