"""Workers forked from a fork server (``mockfleet up --fork-server``): they answer through the edge,
live in sessions of their own with the supervisor's limits, share the fork server's pages, and a
crashed one is forked again; a runtime that cannot fork is spawned as before."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import trio

from supervisor.fork_servers import ForkServers
from supervisor.registry import Registry
from supervisor.settings import Settings
from tests.bench.density import roomy_plan, small_environment
from tests.conftest import Platform, deploy_body, running_platform


@pytest.fixture(scope="module")
def forking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "fork", "--fork-server")


def worker_pid(platform: Platform, uuid: str) -> int:
    deployment = platform.recorded(uuid)
    assert deployment.worker_pid
    return int(deployment.worker_pid)


def answered(platform: Platform, subdomain: str, index: int, deadline: float) -> bytes:
    while True:
        status, _, body = platform.request(platform.host(subdomain), "GET", "/hello")
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, body
            return body
        time.sleep(0.1)


def test_forked_workers_answer_isolated_and_share_pages(forking: Platform) -> None:
    pids = []
    for index in range(2):
        environment = small_environment(index)
        status, answer = forking.api("POST", "/deployments", deploy_body(environment))
        assert status == 200, answer
        assert answered(forking, answer["subdomain"], index, time.monotonic() + 20) == f'{{"deployment": {index}}}'.encode()
        pids.append(worker_pid(forking, environment["uuid"]))
    servers = {psutil.Process(pid).ppid() for pid in pids}
    assert len(servers) == 1, "both workers come from the one fork server of the runtime"
    server = psutil.Process(servers.pop())
    assert "--fork-server" in server.cmdline()
    assert server.pid not in forking.pids("supervise") and server.ppid() in forking.pids("supervise")
    for pid in pids:
        assert os.getsid(pid) == pid, "a forked worker leads a session of its own"
        limit = psutil.Process(pid).rlimit(psutil.RLIMIT_NOFILE)
        assert limit == (Settings.worker_open_files, Settings.worker_open_files)
        assert psutil.Process(pid).rlimit(psutil.RLIMIT_CORE) == (0, 0)
        info = psutil.Process(pid).memory_full_info()
        assert info.uss < info.rss * 0.6, f"a forked worker shares most of its pages ({info})"


def test_killed_forked_worker_is_forked_again(forking: Platform) -> None:
    environment = small_environment(7)
    status, answer = forking.api("POST", "/deployments", deploy_body(environment))
    assert status == 200, answer
    answered(forking, answer["subdomain"], 7, time.monotonic() + 20)
    first = worker_pid(forking, environment["uuid"])
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if worker_pid(forking, environment["uuid"]) != first:
                break
        except AssertionError:
            pass
        time.sleep(0.1)
    assert answered(forking, answer["subdomain"], 7, time.monotonic() + 20) == b'{"deployment": 7}'
    second = worker_pid(forking, environment["uuid"])
    assert second != first and "--fork-server" in psutil.Process(psutil.Process(second).ppid()).cmdline()


def _spares(platform: Platform) -> set[int]:
    """Children of the fork server that no deployment records: forked spares waiting for a hand-over."""
    registry = Registry(platform.data_dir / "registry.sqlite3")
    try:
        recorded = {d.worker_pid for d in registry.deployments()}
    finally:
        registry.close()
    supervisor = psutil.Process(platform.pids("supervise")[0])
    servers = [p for p in supervisor.children() if "--fork-server" in p.cmdline()]
    return {child.pid for server in servers for child in server.children() if child.pid not in recorded}


def _until(test: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not test() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_a_forked_spare_waits_and_the_next_deploy_is_handed_to_it(forking: Platform) -> None:
    roomy_plan(forking, 10)  # room for two more deployments on the default account's plan
    _until(lambda: len(_spares(forking)) == 1)
    spare = _spares(forking)
    assert len(spare) == 1, "one forked worker waits for the next hand-over"
    environment = small_environment(11)
    status, answer = forking.api("POST", "/deployments", deploy_body(environment))
    assert status == 200, answer
    assert worker_pid(forking, environment["uuid"]) == spare.pop()  # the deploy did not wait for a fork
    _until(lambda: len(_spares(forking)) == 1)
    (replacement,) = _spares(forking)
    os.kill(replacement, signal.SIGKILL)  # a spare that died waiting is not handed anything
    environment = small_environment(12)
    status, answer = forking.api("POST", "/deployments", deploy_body(environment))
    assert status == 200, answer
    assert worker_pid(forking, environment["uuid"]) != replacement
    assert answered(forking, answer["subdomain"], 12, time.monotonic() + 20) == b'{"deployment": 12}'


def test_a_runtime_that_cannot_fork_is_remembered(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", fork_server=True)
    settings.prepare()
    old_runtime = [sys.executable, "-c", "import sys; sys.exit(2)"]  # knows no --fork-server
    forks = ForkServers(settings)

    async def main() -> object:
        return await forks.fork(old_runtime, ["-"], settings.logs_dir / "w.log")

    assert trio.run(main) is None
    assert tuple(old_runtime) in forks.cannot_fork
    assert forks.warm(old_runtime) is None, "no second try for a runtime that cannot fork"
    forks.close()
