"""A worker's exit is heard through its pidfd when it happens, instead of by polling every worker."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from supervisor.workers import WorkerProcess, exit_fd

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfd_open on this system")


def _worker(pid: int, started: float) -> WorkerProcess:
    return WorkerProcess("d", 1, Path("/nonexistent/w.sock"), pid, started, Path("/nonexistent/w.log"))


def test_the_pidfd_turns_readable_when_the_worker_exits_and_not_before() -> None:
    # started in a session of its own and not reaped by us until the end, like a forked worker's exit
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        fd = exit_fd(_worker(proc.pid, psutil.Process(proc.pid).create_time()))
        assert fd is not None
        try:
            assert select.select([fd], [], [], 0.2)[0] == []  # alive: nothing to hear
            os.kill(proc.pid, signal.SIGKILL)
            assert select.select([fd], [], [], 5)[0] == [fd]
        finally:
            os.close(fd)
    finally:
        proc.kill()
        proc.wait()


def test_a_recycled_or_vanished_pid_is_not_watched() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(proc.pid).create_time()
        assert exit_fd(_worker(proc.pid, started - 3600)) is None  # the pid of another, later process
    finally:
        proc.kill()
        proc.wait()
    assert exit_fd(_worker(proc.pid, started)) is None  # gone


def test_a_spare_that_died_waiting_is_seen_on_its_channel_whatever_the_descriptor_number() -> None:
    import resource
    import socket

    from supervisor.worker_channel import WorkerChannel

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2048:
        pytest.skip("needs 2,048 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    ours, theirs = socket.socketpair()
    high = os.dup2(ours.fileno(), 1500)  # as with a pidfd per worker: past select()'s 1,024
    ours.close()
    channel = WorkerChannel(socket.socket(fileno=high))
    try:
        assert not channel.ended()  # waiting: nothing written
        theirs.close()  # it died
        assert channel.ended()
    finally:
        channel._raw.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
