"""WebSocket routes through ``mockfleet up``: TLS, the edge's key check (header, ``?token=``,
subprotocol), every streaming mode, the deploy answer, re-deploys."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import account
from tests.worker.ws_envs import ws_environment
from tests.ws_client import Dropped, Refused, WsClient


@pytest.fixture(scope="module")
def ws_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "websockets")


def _deploy(platform: Platform, token: str, visibility: str = "PRIVATE", env: dict[str, Any] | None = None,
            ) -> dict[str, Any]:
    environment = env or {**ws_environment(), "uuid": str(uuidlib.uuid4())}
    status, answer = platform.api("POST", "/deployments", deploy_body(environment, visibility), token=token)
    assert status == 200, answer
    return answer


def _client(platform: Platform, answer: dict[str, Any], path: str, headers: dict[str, str] | None = None,
            subprotocols: list[str] | None = None) -> WsClient:
    host = platform.host(answer["subdomain"])
    return WsClient(host, platform.port, path, headers, subprotocols, tls=platform.ssl_context())


def test_private_ws_routes_need_the_key_in_one_of_three_forms(ws_platform: Platform) -> None:
    answer = _deploy(ws_platform, account(ws_platform))
    assert answer["warnings"] == []  # ws routes are served: nothing to report
    key = answer["apiKey"]
    with pytest.raises(Refused) as refused:
        _client(ws_platform, answer, "/chat/a")
    assert refused.value.status == 401
    with pytest.raises(Refused):
        _client(ws_platform, answer, "/chat/a?token=wrong")
    with _client(ws_platform, answer, "/chat/a", {"Authorization": f"Bearer {key}"}) as ws:
        ws.send("ping")
        assert ws.recv() == "pong a"
    # browsers: the key in the URL, removed before the mock sees the query
    with _client(ws_platform, answer, f"/chat/b?token={key}&user=zoe", {"Content-Type": "application/json"}) as ws:
        ws.send('{"kind": "order"}')
        assert ws.recv() == "json order of zoe"
    # browsers: the key as a subprotocol next to the real one, which the mock accepts
    with _client(ws_platform, answer, "/chat/c", subprotocols=["chat", f"mockfleet.bearer.{key}"]) as ws:
        assert ws.subprotocol == "chat"
        ws.send("store {{x}}")
        assert ws.recv() == "stored"
        ws.send("recall")
        assert ws.recv() == "last=store {{x}}"


def test_streams_and_broadcast_through_tls(ws_platform: Platform) -> None:
    answer = _deploy(ws_platform, account(ws_platform), visibility="PUBLIC")
    with _client(ws_platform, answer, "/ticker?id=7") as ws:
        assert [ws.recv() for _ in range(3)] == ["tick A 7", "tick B", "tick C"]
    clients = [_client(ws_platform, answer, "/feed") for _ in range(4)]
    try:
        streams = [[client.recv() for _ in range(3)] for client in clients]
        assert all(stream == streams[0] for stream in streams)
    finally:
        for client in clients:
            client.abort()


def test_key_rotation_refuses_new_websockets_with_the_old_key(ws_platform: Platform) -> None:
    token = account(ws_platform)
    answer = _deploy(ws_platform, token)
    old = answer["apiKey"]
    status, rotated = ws_platform.api("POST", f"/deployments/{answer['environmentUuid']}/api-key", token=token)
    assert status == 200
    with pytest.raises(Refused) as refused:
        _client(ws_platform, answer, f"/chat/a?token={old}")
    assert refused.value.status == 401
    with _client(ws_platform, answer, f"/chat/a?token={rotated['apiKey']}") as ws:
        ws.send("ping")
        assert ws.recv() == "pong a"


def test_redeploy_keeps_open_websockets_of_the_old_revision(ws_platform: Platform) -> None:
    token = account(ws_platform)
    environment = {**ws_environment(), "uuid": str(uuidlib.uuid4())}
    answer = _deploy(ws_platform, token, "PUBLIC", environment)
    ws = _client(ws_platform, answer, "/chat/a")
    ws.send("ping")
    assert ws.recv() == "pong a"
    _deploy(ws_platform, token, "PUBLIC", environment)  # the same environment again: a new revision
    import time

    time.sleep(6)  # past the supervisor's retire delay and hypercorn's graceful timeout
    try:
        ws.send("ping")
        assert ws.recv() == "pong a"
    except Dropped:
        pytest.fail("a re-deploy cut an open WebSocket")
    with _client(ws_platform, answer, "/chat/b") as fresh:
        fresh.send("ping")
        assert fresh.recv() == "pong b"
    ws.close()
