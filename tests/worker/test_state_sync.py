"""A real worker process pushing its state to a socket this test owns (standing in for the supervisor)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import decode_environment
from schemas.handover import WorkerHandover, encode_handover
from schemas.worker_state import (
    StateAck,
    StateLink,
    StatePush,
    decode_state_payload,
    encode_state_frame,
)
from tests.conftest import ROOT, Worker, make_env
from worker.snapshot import decode_state

TOKEN = "admin-token"


class FakeSupervisor:
    """Accepts pushes on a Unix socket and answers with ``answer``; keeps what it received."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pushes: list[tuple[float, StatePush]] = []
        self.answer = StateAck(stored=True, epoch=5)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                message = decode_state_payload(data[4:])
                assert isinstance(message, StatePush)
                self.pushes.append((time.monotonic(), message))
                conn.sendall(encode_state_frame(self.answer))

    def wait_for(self, count: int, timeout: float = 10.0) -> StatePush:
        deadline = time.monotonic() + timeout
        while len(self.pushes) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.pushes) >= count, f"{len(self.pushes)} push(es), expected {count}"
        return self.pushes[count - 1][1]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Worker, FakeSupervisor]]:
    supervisor = FakeSupervisor(tmp_path / "state.sock")
    route = {"uuid": "c0000000-0000-4000-8000-000000000001", "type": "http", "method": "get", "endpoint": "set",
             "responses": [{"uuid": "c0000000-0000-4000-8000-000000000002", "default": True,
                            "body": "{{setGlobalVar 'g' (queryParam 'v')}}ok"}]}
    env, _ = decode_environment(json.dumps(make_env([route])))
    handover = WorkerHandover(environment=env, admin_token=TOKEN, live_update=False,
                              state_link=StateLink(socket=str(supervisor.path), deployment="dep", epoch=4))
    uds = tmp_path / "w.sock"
    proc = subprocess.Popen([sys.executable, "-m", "worker", "-", "--uds", str(uds), "--handover"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            start_new_session=True)
    assert proc.stdin is not None
    proc.stdin.write(encode_handover(handover))
    proc.stdin.close()
    worker = Worker(proc, None, uds)
    deadline = time.monotonic() + 20
    while not uds.exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    yield worker, supervisor
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    supervisor.sock.close()


def test_an_idle_worker_pushes_nothing_and_a_change_is_pushed_within_a_second(setup) -> None:
    worker, supervisor = setup
    time.sleep(1.5)
    assert supervisor.pushes == []  # no change, no push (and no timer: idle workers cost nothing)
    changed = time.monotonic()
    assert worker.request("GET", "/set?v=1")[2] == b"ok"
    push = supervisor.wait_for(1)  # the first change after a quiet spell goes at once
    assert supervisor.pushes[0][0] - changed < 1.0
    assert (push.deployment, push.token, push.epoch) == ("dep", TOKEN, 4)
    assert decode_state(push.state).global_vars == {"g": "1"}
    for value in range(2, 12):  # a burst: coalesced, one push per interval at most
        worker.request("GET", f"/set?v={value}")
    push = supervisor.wait_for(2)
    assert supervisor.pushes[1][0] - supervisor.pushes[0][0] >= 0.85
    time.sleep(1.5)
    pushed = [decode_state(p.state).global_vars["g"] for _, p in supervisor.pushes]
    assert pushed[-1] == "11" and len(pushed) <= 3  # then quiet again


def test_the_epoch_answered_is_used_and_sigterm_pushes_the_last_changes(setup) -> None:
    worker, supervisor = setup
    worker.request("GET", "/set?v=1")
    supervisor.wait_for(1)
    worker.request("GET", "/set?v=last")
    os.killpg(worker.proc.pid, signal.SIGTERM)  # before the next interval: only the final push can carry it
    assert worker.proc.wait(15) == 0
    push = supervisor.wait_for(2)
    assert push.epoch == 5 and decode_state(push.state).global_vars == {"g": "last"}


def test_a_stale_answer_stops_the_pushes(setup) -> None:
    worker, supervisor = setup
    supervisor.answer = StateAck(stored=False, stale=True, message="re-deployed")
    worker.request("GET", "/set?v=1")
    supervisor.wait_for(1)
    worker.request("GET", "/set?v=2")
    time.sleep(2)
    assert len(supervisor.pushes) == 1


def test_live_update_refused_with_403_when_the_deployment_says_so(setup) -> None:
    worker, _ = setup
    status, _, body = worker.request("PUT", "/mockoon-admin/environment", json.dumps(make_env([])),
                                     {"Authorization": f"Bearer {TOKEN}"})
    assert status == 403 and b"liveUpdate: false" in body
