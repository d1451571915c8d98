"""The validation fork server process (``python -m supervisor.validation_fork_server FD``): it imports
what a deploy validation needs, freezes it out of the garbage collector's reach and, per
``ValidationFork`` on its control socket (descriptor FD), forks a monitor that forks the child.

Kept apart from ``supervisor/validation_forks.py`` (the supervisor's side) so it imports neither
trio nor anything else a validation does not use: a smaller process forks faster.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import socket
import sys
import traceback

import msgspec

from schemas.deploy_validation import (
    MAX_FORK_MESSAGE,
    ValidationEnded,
    ValidationFork,
    ValidationStarted,
)


def kill_job(pid: int) -> None:
    """SIGKILL for a validation child (and anything it started)."""
    try:
        os.killpg(pid, signal.SIGKILL)  # the child leads a session (and group) of its own
    except ProcessLookupError:
        try:
            os.kill(pid, signal.SIGKILL)  # not yet: it had not called setsid
        except ProcessLookupError:
            pass


def serve(control: socket.socket) -> int:
    from . import deploy_validation  # noqa: F401  everything a child needs, imported once

    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    decoder = msgspec.json.Decoder(ValidationFork)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_FORK_MESSAGE, 4)
        except OSError:
            return 1
        if not data:
            return 0  # the supervisor closed its end (or died)
        try:
            job = decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            job = None
        if job is not None and len(fds) == 4:
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                control.close()
                _monitor(job, fds)
        for fd in fds:
            os.close(fd)


def _monitor(job: ValidationFork, fds: list[int]) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        progress_fd, stdin, stdout, stderr = fds
        pid = os.fork()
        if pid == 0:
            os.close(progress_fd)
            _validate(job, stdin, stdout, stderr)
        for fd in (stdin, stdout, stderr):
            os.close(fd)
        with socket.socket(fileno=progress_fd) as progress:
            try:
                progress.sendall(msgspec.json.encode(ValidationStarted(pid=pid)) + b"\n")
            except OSError:  # the supervisor gave up on the job (its deadline) before it started
                kill_job(pid)
            _, status = os.waitpid(pid, 0)
            try:
                progress.sendall(msgspec.json.encode(ValidationEnded(returncode=os.waitstatus_to_exitcode(status)))
                                 + b"\n")
            except OSError:
                pass  # nobody waits for this answer any more
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _validate(job: ValidationFork, stdin: int, stdout: int, stderr: int) -> None:
    """The child: what ``python -m supervisor.deploy_validation`` does, under the job's budget."""
    code = 1
    try:
        os.setsid()
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_seconds, job.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_AS, (job.address_space, job.address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.nice(job.niceness)
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        from .deploy_validation import main

        code = main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1]))))
