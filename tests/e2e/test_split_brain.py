"""After a kill -9 of ``mockfleet up``: no orphans, no second supervisor on the same data, no crash loop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.conftest import ROOT, Platform, deploy_body
from tests.e2e.test_platform import env


def _gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_children_die_with_up_and_the_next_up_takes_over(tmp_path: Path) -> None:
    first = Platform(tmp_path / "data")
    first.start()
    try:
        status, answer = first.api("POST", "/deployments", deploy_body(env("survivor")))
        assert status == 200, answer
        children = first.pids("supervise") + first.pids("edge")
        assert len(children) == 2
        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        assert _gone(children, 20), "supervisor or edge outlived mockfleet up"
        second = Platform(tmp_path / "data")
        second.start()
        try:
            assert second.request(second.host(answer["subdomain"]), "GET", "/hello")[0] == 200
            assert len(second.pids("supervise")) == 1
            # the account token is printed at the first start only
            assert first.token in first.log.read_text()
            assert first.token not in second.log.read_text()
        finally:
            second.stop()
    finally:
        if first.proc and first.proc.poll() is None:
            first.stop()


def test_a_second_up_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    first = Platform(tmp_path / "data")
    first.start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "supervisor.cli", "up", "--data-dir", str(first.data_dir), "--https-port", "1",
             "--bind", "127.0.0.1", "--metrics-port", "0"], cwd=ROOT, capture_output=True, timeout=60)
        assert second.returncode == 1
        assert b"is in use by another mockfleet process" in second.stderr
        assert str(first.proc.pid).encode() in second.stderr if first.proc else False
        assert first.request(first.api_host, "GET", "/health")[0] == 200
    finally:
        first.stop()


def test_a_second_supervisor_on_the_same_registry_exits_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    base = [sys.executable, "-m", "supervisor.cli", "supervise", "--data-dir", str(data)]
    holder = subprocess.Popen(base, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        assert holder.stdout is not None
        while b"supervisor ready" not in (line := holder.stdout.readline()):
            assert line, "the first supervisor did not start"
        second = subprocess.run(base, cwd=ROOT, capture_output=True, timeout=30)
        assert second.returncode == 75
        assert b"a second supervisor would restart the same workers" in second.stderr
        assert holder.poll() is None
    finally:
        holder.terminate()
        holder.wait(30)


def test_an_edge_that_cannot_bind_is_restarted_with_backoff(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = tmp_path / "up.log"
        with log.open("wb") as out:
            up = subprocess.Popen(
                [sys.executable, "-m", "supervisor.cli", "up", "--data-dir", str(tmp_path / "data"), "--https-port",
                 str(port), "--bind", "127.0.0.1", "--metrics-port", "0"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while b"ready" not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(12)
        finally:
            os.killpg(up.pid, signal.SIGTERM)
            up.wait(30)
    restarts = log.read_text().count("mockfleet edge exited")
    # before: 57 restarts in 25 s; with 0.5, 1, 2, 4, 8 s between them, at most 5 in 12 s
    assert 2 <= restarts <= 6, log.read_text()[-2000:]
    assert "restarting in 4.0s" in log.read_text()
