"""One fork server per runtime command: a deploy forks a warm, frozen interpreter (milliseconds,
pages shared with every sibling) instead of starting one (a second of imports, 50 MiB of its own).

The fork server is started on the first need, dies with the supervisor (PDEATHSIG), and its
children live in sessions of their own like spawned workers, so they outlive a supervisor
crash and are adopted. A runtime whose command has no ``--fork-server`` (an older runtime)
exits at once: that command is remembered and its workers are spawned as before.
"""

from __future__ import annotations

import array
import hashlib
import logging
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import msgspec
import trio

from schemas.fork_server import MAX_MESSAGE, ForkAnswer, Forked, ForkRequest

from .children import die_with_parent
from .settings import Settings

log = logging.getLogger("mockfleet.supervisor.fork_servers")


class ForkFailed(Exception):
    """The fork server did not fork (no answer, or a refusal); the caller spawns instead."""


@dataclass
class ForkServer:
    popen: subprocess.Popen[bytes]
    socket: Path
    log_path: Path


@dataclass
class ForkedWorker:
    """A forked child waiting for its hand-over on the socket whose other end is ``stdin``."""

    pid: int
    stdin: int


class ForkServers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.servers: dict[tuple[str, ...], ForkServer] = {}
        self.cannot_fork: set[tuple[str, ...]] = set()

    def _name(self, command: list[str]) -> str:
        return "fork-" + hashlib.sha256("\0".join(command).encode()).hexdigest()[:12]

    def warm(self, command: list[str]) -> ForkServer | None:
        """Start the command's fork server if none runs (it imports in the background)."""
        key = tuple(command)
        if key in self.cannot_fork:
            return None
        server = self.servers.get(key)
        if server is not None and server.popen.poll() is None:
            return server
        name = self._name(command)
        control = self.settings.run_dir / f"{name}.sock"
        log_path = self.settings.logs_dir / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if k in PASSED_ENV}
        control.unlink(missing_ok=True)  # a dead predecessor's socket: its name would read as "ready"
        with log_path.open("ab") as log_file:
            popen = subprocess.Popen([*command, "-", "--fork-server", str(control)], stdin=subprocess.DEVNULL,
                                     stdout=log_file, stderr=log_file, env=env, cwd=self.settings.run_dir,
                                     start_new_session=True, preexec_fn=die_with_parent(), close_fds=True)
        server = self.servers[key] = ForkServer(popen, control, log_path)
        return server

    async def _ready(self, key: tuple[str, ...], server: ForkServer) -> bool:
        deadline = trio.current_time() + self.settings.worker_ready_timeout
        while trio.current_time() < deadline:
            if server.popen.poll() is not None:
                self.cannot_fork.add(key)
                self.servers.pop(key, None)
                log.warning("runtime %s cannot fork (exit status %s): its workers are spawned",
                            " ".join(key), server.popen.returncode)
                return False
            if server.socket.exists():
                return True
            await trio.sleep(0.01)
        return False

    async def fork(self, command: list[str], argv: list[str], log_path: Path) -> ForkedWorker | None:
        """A child of the command's fork server running ``argv``; None when this runtime cannot fork."""
        key = tuple(command)
        server = self.warm(command)
        if server is None or not await self._ready(key, server):
            return None
        s = self.settings
        request = msgspec.json.encode(ForkRequest(argv=argv, address_space=s.worker_address_space,
                                                  open_files=s.worker_open_files, file_size=s.worker_file_size))
        theirs, ours = socket.socketpair()  # the child's stdin: a socket, so it can report ready on it
        read_end, write_end = theirs.detach(), ours.detach()
        log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            answer = await _ask(server.socket, request, [read_end, log_fd])
        except (OSError, msgspec.DecodeError, trio.TooSlowError) as error:
            os.close(write_end)
            raise ForkFailed(f"fork server {server.socket.name}: {error}") from error
        finally:
            os.close(read_end)
            os.close(log_fd)
        if not isinstance(answer, Forked):
            os.close(write_end)
            raise ForkFailed(f"fork server refused: {answer.reason}")
        return ForkedWorker(answer.pid, write_end)

    def close(self) -> None:
        for server in self.servers.values():
            server.popen.kill()
            server.popen.wait()
            server.socket.unlink(missing_ok=True)
        self.servers.clear()


async def _ask(control: Path, request: bytes, fds: list[int]) -> ForkAnswer:
    """One request on the fork server's control socket, on the loop (no thread hand-off per fork)."""
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn, trio.fail_after(10):
        await conn.connect(str(control))
        await conn.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        data = b""
        while chunk := await conn.recv(MAX_MESSAGE):
            data += chunk
    return msgspec.json.decode(data, type=ForkAnswer)  # type: ignore[arg-type]


PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "HOME", "SYSTEMROOT")
