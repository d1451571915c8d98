"""The edge ending WebSockets itself, through ``mockfleet up`` with TLS and a real client (wsproto):
a message over the size cap (1009), clients sending too fast (1008), a mock sending too fast
(1013), a rotated key (1008) and a deleted deployment (1001) within a second, an idle tunnel
(1001); and the messages each tunnel relayed, in the access log and the metrics."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import pytest
from wsproto.events import Message

from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import account
from tests.worker.ws_envs import ws_environment
from tests.ws_client import Closed, Dropped, WsClient

MAX_KB, RATE_IN, RATE_OUT, IDLE = 4, 20, 150, 3.0
TOO_BIG = 'mockfleet_edge_websocket_closed_total{reason="too-big"}'


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "ws-limits", "--ws-max-message-kb", str(MAX_KB),
                                "--ws-messages-in-per-second", str(RATE_IN),
                                "--ws-messages-out-per-second", str(RATE_OUT),
                                "--tunnel-idle-timeout", str(IDLE))


def _deploy(platform: Platform, visibility: str = "PUBLIC") -> tuple[dict[str, Any], str]:
    token = account(platform)
    environment = {**ws_environment(), "uuid": str(uuidlib.uuid4())}
    status, answer = platform.api("POST", "/deployments", deploy_body(environment, visibility), token=token)
    assert status == 200, answer
    return answer, token


def _client(platform: Platform, answer: dict[str, Any], path: str, key: str | None = None) -> WsClient:
    headers = {"Authorization": f"Bearer {key}"} if key else None
    return WsClient(platform.host(answer["subdomain"]), platform.port, path, headers, tls=platform.ssl_context())


def _closed(ws: WsClient, timeout: float = 5) -> tuple[int, str, list[str | bytes]]:
    """Messages until the close frame: its code, reason and what came before it."""
    before: list[str | bytes] = []
    with pytest.raises(Closed) as closed:
        while True:
            before.append(ws.recv(timeout))
    return closed.value.code, closed.value.reason, before


def test_a_message_over_the_cap_closes_with_1009_before_the_mock_sees_it(limited: Platform) -> None:
    answer, _ = _deploy(limited)
    with _client(limited, answer, "/chat/big") as ws:
        counted = _metrics(limited)
        ws.send("x" * (MAX_KB * 1024 - 9))  # "echo " + it + " h=/": the answer is exactly the cap
        assert ws.recv() == "echo " + "x" * (MAX_KB * 1024 - 9) + " h=/"
        ws.send("y" * (MAX_KB * 1024 + 1))
        code, reason, before = _closed(ws)
        assert (code, reason, before) == (1009, "message too big", [])
    # fragments count together: the frame that takes the message over the cap ends it
    with _client(limited, answer, "/chat/fragments") as ws:
        ws._send(ws.ws.send(Message(data="a" * 3000, message_finished=False)))
        ws._send(ws.ws.send(Message(data="b" * 3000, message_finished=True)))
        assert _closed(ws)[0] == 1009
    deadline = time.monotonic() + 5
    while (grown := _metrics(limited).get(TOO_BIG, 0) - counted.get(TOO_BIG, 0)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # counted once the tunnel's grace is over
    assert grown == 2


def test_clients_sending_faster_than_the_deployment_allows_are_closed_with_1008(limited: Platform) -> None:
    answer, _ = _deploy(limited)
    with _client(limited, answer, "/chat/a") as ws:
        for _ in range(RATE_IN * 3):
            ws.send("ping")
        code, reason, before = _closed(ws)
        assert (code, reason) == (1008, "too many messages per second")
        # a second's burst reached the mock (a little more if the sends trickled in on a loaded
        # machine); answers still on their way when the edge closed are dropped
        assert len(before) <= RATE_IN + 10 and set(before) <= {"pong a"}
    time.sleep(1.2)  # the budget refills: a client within it is served
    with _client(limited, answer, "/chat/a") as ws:
        for _ in range(5):
            ws.send("ping")
            assert ws.recv() == "pong a"


def test_a_mock_sending_faster_than_allowed_is_closed_with_1013(limited: Platform) -> None:
    """Four clients of a 10 ms stream ask for 400 messages a second of a deployment allowed 150:
    the tunnels whose next message is over the budget end with 1013 until the rest fit (how many
    depends on how fast the loaded worker really ticks; one at least, never all)."""
    answer, _ = _deploy(limited)
    clients = [_client(limited, answer, "/fast") for _ in range(4)]
    try:
        open_ = list(clients)
        codes = []
        received: dict[WsClient, float] = {}
        ends = time.monotonic() + 6
        while time.monotonic() < ends:
            for ws in list(open_):  # each in turn, a little at a time
                try:
                    assert ws.recv(0.02) == "f"
                    received[ws] = time.monotonic()
                except TimeoutError:
                    pass
                except Closed as closed:
                    codes.append(closed.code)
                    assert "try again later" in closed.reason
                    open_.remove(ws)
        assert codes and set(codes) == {1013}, codes
        assert open_ and all(received[ws] > ends - 1 for ws in open_)  # the rest still stream
    finally:
        for ws in clients:
            ws.abort()


def test_key_rotation_closes_open_websockets_of_the_old_key_with_1008_within_a_second(limited: Platform) -> None:
    answer, token = _deploy(limited, "PRIVATE")
    with _client(limited, answer, "/chat/a", answer["apiKey"]) as ws:
        ws.send("ping")
        assert ws.recv() == "pong a"
        status, rotated = limited.api("POST", f"/deployments/{answer['environmentUuid']}/api-key", token=token)
        assert status == 200
        answered = time.monotonic()
        code, reason, _ = _closed(ws, 3)
        assert (code, reason) == (1008, "API key rotated")
        assert time.monotonic() - answered < 1.0
    with _client(limited, answer, "/chat/a", rotated["apiKey"]) as ws:  # the new key works
        ws.send("ping")
        assert ws.recv() == "pong a"


def test_a_redeploy_keeps_the_open_websockets_of_a_private_deployment(limited: Platform) -> None:
    """The same key after a re-deploy: the recheck that follows its invalidation ends nothing."""
    token = account(limited)
    environment = {**ws_environment(), "uuid": str(uuidlib.uuid4())}
    status, answer = limited.api("POST", "/deployments", deploy_body(environment, "PRIVATE"), token=token)
    assert status == 200, answer
    with _client(limited, answer, "/chat/a", answer["apiKey"]) as ws:
        ws.send("ping")
        assert ws.recv() == "pong a"
        status, again = limited.api("POST", "/deployments", deploy_body(environment, "PRIVATE"), token=token)
        assert status == 200 and again["apiKey"] == answer["apiKey"]
        for _ in range(10):  # over a second, past the invalidation and its recheck
            ws.send("ping")
            assert ws.recv() == "pong a"
            time.sleep(0.15)


def test_deleting_a_deployment_closes_its_websockets_with_1001(limited: Platform) -> None:
    answer, token = _deploy(limited)
    with _client(limited, answer, "/chat/a") as ws:
        ws.send("ping")
        assert ws.recv() == "pong a"
        status, _ = limited.api("DELETE", f"/deployments/{answer['environmentUuid']}", token=token)
        assert status == 200
        assert _closed(ws, 3)[:2] == (1001, "deployment deleted or moved to another address")


def test_an_idle_websocket_is_closed_with_1001(limited: Platform) -> None:
    answer, _ = _deploy(limited)
    with _client(limited, answer, "/chat/quiet") as ws:
        started = time.monotonic()
        assert _closed(ws, IDLE + 5)[:2] == (1001, "idle timeout")
        assert IDLE - 0.5 < time.monotonic() - started < IDLE + 2


def _metrics(platform: Platform) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{platform.metrics_port}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return {name: float(value) for name, _, value in (line.rpartition(" ") for line in lines)
            if name.startswith("mockfleet_edge_websocket")}


def test_messages_are_counted_in_the_access_log_and_metrics(limited: Platform) -> None:
    answer, _ = _deploy(limited)
    before = _metrics(limited)
    with _client(limited, answer, "/chat/counted") as ws:
        for _ in range(3):
            ws.send("ping")
            assert ws.recv() == "pong counted"
        ws.send("silent")  # no answer
        assert _metrics(limited)["mockfleet_edge_websockets_open"] >= 1
        assert ws.close() == 1000  # the client's close handshake passes through: the worker answers it
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in limited.log.read_text().splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("path") == "/chat/counted"]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mine) == 1, mine
    assert {k: mine[0][k] for k in ("status", "decision", "ws_in", "ws_out")} == {
        "status": 101, "decision": "tunnel-closed", "ws_in": 4, "ws_out": 3}
    after = _metrics(limited)
    grown = {name: after[name] - before.get(name, 0) for name in after}
    assert grown['mockfleet_edge_websocket_messages_total{direction="in"}'] >= 4
    assert grown['mockfleet_edge_websocket_messages_total{direction="out"}'] >= 3


def test_a_stopping_edge_closes_websockets_with_1001(limited: Platform) -> None:
    answer, _ = _deploy(limited)
    with _client(limited, answer, "/chat/a") as ws:
        ws.send("ping")
        assert ws.recv() == "pong a"
        for pid in limited.pids("edge"):
            os.kill(pid, signal.SIGTERM)  # mockfleet up starts another
        assert _closed(ws, 5)[:2] == (1001, "edge restarting")
    deadline = time.monotonic() + 30
    while True:  # its successor serves WebSockets again
        try:
            with _client(limited, answer, "/chat/b") as ws:
                ws.send("ping")
                assert ws.recv() == "pong b"
                break
        except (OSError, Dropped, Closed):  # refused, or taken by the stopping edge as it went
            assert time.monotonic() < deadline, "the edge did not come back"
            time.sleep(0.2)
