"""A fork server for deploy validation: the child of every deploy is forked from a process that has
imported ``schemas`` already, instead of starting an interpreter (75 of a deploy's 170 ms).

Each job still runs in a process of its own, with the same budget (CPU and address-space limits,
niceness, a session of its own, killed at the wall-clock deadline), so the reasons for a child
(``supervisor/validator.py``) hold. The fork server forks a small monitor per job which forks the
validation child, reports its pid, waits for it and reports how it ended: only a parent can read
an exit status, and the fork server itself must stay free for the next job.

The fork server (``supervisor/validation_fork_server.py``) reads only ``ValidationFork``
messages (budgets): no upload ever reaches it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass

import msgspec
import trio

from schemas.deploy_validation import (
    MAX_FORK_MESSAGE,
    ValidationEnded,
    ValidationFork,
    ValidationProgress,
    ValidationStarted,
)

from .children import die_with_parent
from .validation_fork_server import kill_job

_progress = msgspec.json.Decoder(ValidationProgress)  # type: ignore[var-annotated]


class ForkUnavailable(Exception):
    """The fork server could not run this job (not running, or gone mid-job): spawn instead."""


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


class ValidationForks:
    """The supervisor's side: starts the fork server on first use and again if it died."""

    def __init__(self) -> None:
        self.popen: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None

    def _connect(self) -> socket.socket:
        if self.popen is not None and self.popen.poll() is None and self.control is not None:
            return self.control
        self.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with theirs:
            self.popen = subprocess.Popen(
                [sys.executable, "-P", "-m", "supervisor.validation_fork_server", str(theirs.fileno())],
                stdin=subprocess.DEVNULL, pass_fds=[theirs.fileno()], start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGKILL))
        self.control = ours
        return ours

    def warm(self) -> None:
        """Start the fork server now: it imports while the supervisor does other things."""
        self._connect()

    async def run(self, payload: bytes, job: ValidationFork) -> Finished:
        """Run one validation child fed ``payload``; cancelling (the wall-clock deadline) kills it."""
        control = self._connect()
        job_ours, job_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        theirs = [job_theirs.fileno(), stdin_r, stdout_w, stderr_w]
        try:
            socket.send_fds(control, [msgspec.json.encode(job)], theirs)
        except OSError as error:
            for fd in (stdin_w, stdout_r, stderr_r):
                os.close(fd)
            job_ours.close()
            self.close()
            raise ForkUnavailable(f"validation fork server: {error}") from error
        finally:
            job_theirs.close()
            for fd in theirs[1:]:
                os.close(fd)
        pid = 0
        ended: ValidationEnded | None = None
        out: list[bytes] = []
        err: list[bytes] = []
        progress = trio.SocketStream(trio.socket.from_stdlib_socket(job_ours))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_feed, trio.lowlevel.FdStream(stdin_w), payload)
                nursery.start_soon(_drain, trio.lowlevel.FdStream(stdout_r), out)
                nursery.start_soon(_drain, trio.lowlevel.FdStream(stderr_r), err)
                buffered = b""
                while ended is None:
                    chunk = await progress.receive_some(MAX_FORK_MESSAGE)
                    if not chunk:
                        break
                    buffered += chunk
                    while b"\n" in buffered and ended is None:
                        line, _, buffered = buffered.partition(b"\n")
                        message = _progress.decode(line)
                        if isinstance(message, ValidationStarted):
                            pid = message.pid
                        else:
                            ended = message
                if ended is None:
                    nursery.cancel_scope.cancel()
        except BaseException:
            if pid and ended is None:
                kill_job(pid)
            raise
        finally:
            await progress.aclose()
        if ended is None:
            if pid:
                kill_job(pid)
            raise ForkUnavailable("validation fork server: the job's monitor ended without an exit status")
        return Finished(ended.returncode, b"".join(out), b"".join(err))

    def close(self) -> None:
        if self.control is not None:
            self.control.close()  # the fork server reads end-of-file and exits
            self.control = None
        if self.popen is not None:
            try:
                self.popen.wait(2)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
            self.popen = None


async def _feed(stream: trio.lowlevel.FdStream, payload: bytes) -> None:
    try:
        await stream.send_all(payload)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the child ended without reading it all: its exit says why
    finally:
        await stream.aclose()


async def _drain(stream: trio.lowlevel.FdStream, into: list[bytes]) -> None:
    try:
        while chunk := await stream.receive_some(65536):
            into.append(chunk)
    finally:
        await stream.aclose()


