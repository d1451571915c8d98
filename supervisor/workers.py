"""Worker processes: spawn with limits, hand over the environment on stdin, probe readiness,
watch (exit, RSS, heartbeat), stop with drain, adopt; when to do which is ``lifecycle.py``'s.

Workers run in their own session so they outlive a supervisor crash; their output goes to
a log file, never a pipe, so a dead supervisor cannot block or kill them.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import trio

from schemas.handover import WorkerHandover, encode_handover
from schemas.worker_channel import ChannelError

from . import liveness
from .fork_servers import ForkFailed, ForkServers
from .settings import Settings
from .worker_channel import WorkerChannel

log = logging.getLogger("mockfleet.supervisor.workers")
SLOW_START = 0.05  # seconds; a start slower than this says where its time went

FIRST_PROBE = 0.1  # readiness of a runtime that does not report it: probes after 0.1 s, doubling to 0.5 s
LAST_PROBE = 0.5
SANDBOX_UID_BASE = 0x4D460000  # workers started by root run as a uid of their own from this range
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "HOME", "SYSTEMROOT")


class WorkerStartError(Exception):
    """The worker exited or did not answer before its readiness deadline."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


@dataclass
class WorkerProcess:
    deployment: str
    revision: int
    socket: Path
    pid: int
    started: float  # psutil create_time, to tell our process from a recycled pid
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None  # None when adopted after a supervisor restart
    stopping: bool = False
    kill_reason: str = ""
    lost: bool = False  # found dead (or its pid reused) by a full check
    watched: bool = False  # its pidfd is awaited: the exit is heard when it happens, not polled

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            proc = psutil.Process(self.pid)
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - self.started) < 1
        except psutil.Error:
            return False

    def exited(self) -> bool:
        """Cheap enough for every worker every tick: the exit status of our child, else whether the
        pid still exists (a fork server's children are reaped at once, so no zombie stays). A pid
        taken by another process meanwhile is caught by the full ``alive`` check (``lost``)."""
        if self.popen is not None:
            return self.popen.poll() is not None
        if self.lost:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, under the sandbox's uid
        return False

    def signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    @property
    def heartbeat(self) -> Path:
        return heartbeat_path(self.socket)


def exit_fd(worker: WorkerProcess) -> int | None:
    """A pidfd that turns readable when the worker exits (Linux 5.3 and later), checked against the
    worker's start time once open (so a recycled pid is never watched); None where there is none
    (the process is gone, no pidfds, no descriptor left): then the watch loop's polling finds the exit."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(worker.pid)
    except OSError:
        return None
    try:
        if abs(psutil.Process(worker.pid).create_time() - worker.started) < 1:
            return fd
    except psutil.Error:
        pass
    os.close(fd)
    return None


def heartbeat_path(socket: Path) -> Path:
    """Beside the socket, named after it, so an adopted worker's heartbeat is found again."""
    return socket.with_suffix(".beat")


def tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def rotate_log(path: Path, cap: int) -> bool:
    """Past ``cap`` bytes, keep the newest ``cap`` bytes as ``<name>.1`` and empty the live file.

    The worker writes with O_APPEND, so after the truncation its next line lands at the new end:
    a route that fails on every request costs at most twice the cap on disk, not 1 MB/s forever."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size <= cap:
        return False
    with path.open("r+b") as fh:
        fh.seek(size - cap)
        kept = fh.read(cap)
        fh.truncate(0)
    path.with_name(path.name + ".1").write_bytes(kept)
    return True


def discard_files(worker: WorkerProcess) -> None:
    """A dead worker's socket, heartbeat and logs: nothing reads them once its exit is recorded."""
    remove_files(worker.socket, worker.log_path)


def remove_files(socket: Path, log_path: Path) -> None:
    """The files of a worker (started, a spare, or one that never started) named after its socket."""
    for path in (socket, heartbeat_path(socket), log_path, log_path.with_name(log_path.name + ".1")):
        path.unlink(missing_ok=True)


def _limits(settings: Settings) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (settings.worker_address_space, settings.worker_address_space))
        resource.setrlimit(resource.RLIMIT_NOFILE, (settings.worker_open_files, settings.worker_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # a log or any file past this fails with EFBIG (Python ignores SIGXFSZ) rather than filling the disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.worker_file_size, settings.worker_file_size))
        os.umask(0o077)
    return apply


async def probe(socket_path: Path, timeout: float = 1.0) -> bool:
    """Ready means: the socket accepts and the worker answers an HTTP request (any status)."""
    with trio.move_on_after(timeout):
        try:
            stream = await trio.open_unix_socket(str(socket_path))
        except OSError:
            return False
        try:
            await stream.send_all(b"GET /mockoon-admin HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = await stream.receive_some(64)
            return data.startswith(b"HTTP/1.1 ")
        except (trio.BrokenResourceError, OSError):
            return False
        finally:
            await stream.aclose()
    return False


async def outbound_counts(worker: WorkerProcess, admin_token: str, timeout: float = 1.0) -> dict[str, int] | None:
    """``GET /mockoon-admin/outbound`` on the worker's socket: counters since it started (None: no answer)."""
    with trio.move_on_after(timeout):
        try:
            stream = await trio.open_unix_socket(str(worker.socket))
        except OSError:
            return None
        try:
            await stream.send_all(b"GET /mockoon-admin/outbound HTTP/1.1\r\nHost: supervisor\r\n"
                                  b"Authorization: Bearer " + admin_token.encode() + b"\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some(65536):
                data += chunk
        except (trio.BrokenResourceError, OSError):
            return None
        finally:
            await stream.aclose()
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return None
        try:
            counts = json.loads(body)
        except ValueError:
            return None
        return counts if isinstance(counts, dict) else None
    return None


@dataclass
class Spare:
    """A started worker that has imported everything and waits for its environment on stdin."""

    popen: subprocess.Popen[bytes]
    socket: Path
    log_path: Path
    command: list[str]
    channel: WorkerChannel  # its stdin (supervisor/worker_channel.py)


def _new_worker_paths(settings: Settings) -> tuple[Path, Path, list[str]]:
    """A worker's socket, log and arguments (after the runtime command); its heartbeat file is made."""
    name = f"w-{secrets.token_hex(6)}"
    socket_path = settings.run_dir / f"{name}.sock"
    log_path = settings.logs_dir / f"{name}.log"
    liveness.create(heartbeat_path(socket_path), liveness.idle_interval(settings.worker_stall_seconds))
    return socket_path, log_path, ["-", "--uds", str(socket_path), "--handover", "--heartbeat",
                                   str(heartbeat_path(socket_path)), "--sandbox", "--sandbox-uid",
                                   str(SANDBOX_UID_BASE + secrets.randbelow(65536))]


def start_spare(settings: Settings, command: list[str]) -> Spare:
    socket_path, log_path, argv = _new_worker_paths(settings)
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV}
    channel, theirs = WorkerChannel.pair()
    with log_path.open("ab") as log_file, theirs:
        popen = subprocess.Popen(
            [*command, *argv],
            stdin=theirs.fileno(), stdout=log_file, stderr=log_file, env=env, cwd=settings.run_dir,
            start_new_session=True, preexec_fn=_limits(settings), close_fds=True,
        )
    return Spare(popen, socket_path, log_path, command, channel)


class SparePool:
    """One warm spare per runtime command: a deploy pays the handover, not the interpreter start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.spares: dict[tuple[str, ...], Spare] = {}
        self.forks = ForkServers(settings) if settings.fork_server else None
        # one forked worker per runtime waiting for its hand-over: a deploy or wake does not wait for
        # the fork, nor for the child's argument parsing (made in the background once a start is done)
        self.forked: dict[tuple[str, ...], Starting] = {}
        self._forking: set[tuple[str, ...]] = set()
        self.nursery: trio.Nursery | None = None  # the supervisor's: where forked spares are made
        self.closed = False

    def warm(self, command: list[str]) -> None:
        key = tuple(command)
        if self.forks is not None and self.forks.warm(command) is not None:
            self.refill_soon(command)  # workers of this runtime are forked: a forked spare, not a spawned one
            return
        if key not in self.spares or self.spares[key].popen.poll() is not None:
            self.spares[key] = start_spare(self.settings, command)

    async def take_forked(self, command: list[str]) -> Starting | None:
        """The runtime's forked spare if one waits, else a child forked now; None: this runtime is spawned."""
        spare = self.forked.pop(tuple(command), None)
        if spare is not None:
            if not spare.channel.ended():
                return spare
            _discard(spare)  # it died waiting (killed, or its fork server's restart took it)
        return await _forked(self.settings, self, command)

    def refill_soon(self, command: list[str]) -> None:
        """Fork the runtime's next spare in the background (no-op without a fork server or a nursery)."""
        key = tuple(command)
        if self.forks is None or self.nursery is None or self.closed or key in self.forked or key in self._forking:
            return
        if key in self.forks.cannot_fork:
            return
        self._forking.add(key)
        self.nursery.start_soon(self._refill, command)

    async def _refill(self, command: list[str]) -> None:
        key = tuple(command)
        try:
            spare = await _forked(self.settings, self, command)
        finally:
            self._forking.discard(key)
        if spare is None:
            return
        if self.closed or key in self.forked:
            _discard(spare)
            return
        self.forked[key] = spare

    def take(self, command: list[str]) -> Spare:
        key = tuple(command)
        spare = self.spares.pop(key, None)
        if spare is None or spare.popen.poll() is not None:
            spare = start_spare(self.settings, command)
        self.spares[key] = start_spare(self.settings, command)
        return spare

    def sockets(self) -> set[str]:
        return {str(spare.socket) for spare in self.spares.values()} | {str(f.socket) for f in self.forked.values()}

    def fork_server_pids(self) -> set[int]:
        if self.forks is None:
            return set()
        return {server.popen.pid for server in self.forks.servers.values() if server.popen.poll() is None}

    def close(self) -> None:
        for spare in self.spares.values():
            spare.popen.kill()
            spare.popen.wait()
            spare.channel.close()
            remove_files(spare.socket, spare.log_path)
        self.spares.clear()
        self.closed = True
        for forked in self.forked.values():
            _discard(forked)
        self.forked.clear()
        if self.forks is not None:
            self.forks.close()


@dataclass
class Starting:
    """A worker process waiting for its hand-over on ``stdin``: spawned (``popen``) or forked (None)."""

    pid: int
    channel: WorkerChannel
    socket: Path
    log_path: Path
    popen: subprocess.Popen[bytes] | None


def _discard(spare: Starting) -> None:
    """A forked spare nobody will hand anything to: killed, its files removed."""
    spare.channel.close()
    try:
        os.kill(spare.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    remove_files(spare.socket, spare.log_path)


async def _forked(settings: Settings, pool: SparePool | None, command: list[str]) -> Starting | None:
    """A child of the runtime's fork server, or None (no fork servers, or this runtime cannot fork)."""
    if pool is None or pool.forks is None:
        return None
    socket_path, log_path, argv = _new_worker_paths(settings)
    try:
        forked = await pool.forks.fork(command, argv, log_path)
    except ForkFailed as error:
        log.warning("fork failed, spawning instead: %s", error)
        forked = None
    if forked is None:
        remove_files(socket_path, log_path)
        return None
    return Starting(forked.pid, WorkerChannel.adopt_fd(forked.stdin), socket_path, log_path, None)


async def spawn(settings: Settings, *, deployment: str, revision: int, command: list[str],
                handover: WorkerHandover | bytes, pool: SparePool | None = None) -> WorkerProcess:
    """Hand the environment and its decisions (a hand-over, or one encoded already) to a (warm) worker
    and wait until it answers on its socket."""
    began = time.monotonic()
    spare = await pool.take_forked(command) if pool is not None else None
    if spare is None:
        spawned = pool.take(command) if pool is not None else start_spare(settings, command)
        spare = Starting(spawned.popen.pid, spawned.channel, spawned.socket, spawned.log_path, spawned.popen)
    taken = time.monotonic()
    popen = spare.popen
    payload = handover if isinstance(handover, bytes) else encode_handover(handover)
    with spare.log_path.open("ab") as log_file:
        log_file.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {deployment} revision {revision}\n".encode())
    try:
        await spare.channel.hand_over(payload)
    except BaseException:
        spare.channel.close()
        os.kill(spare.pid, signal.SIGKILL)
        raise
    handed = time.monotonic()
    try:
        started = psutil.Process(spare.pid).create_time()
    except psutil.Error:
        started = time.time()
    worker = WorkerProcess(deployment, revision, spare.socket, spare.pid, started, spare.log_path, popen)
    try:
        with trio.move_on_after(settings.worker_ready_timeout):
            if await until_ready(worker, spare.channel):
                if pool is not None:
                    pool.refill_soon(command)  # the next start's child, forked now that this one serves
                ready = time.monotonic()
                if ready - began > SLOW_START:
                    log.info("%s: slow start, %.0f ms: a child in %.0f ms, its hand-over in %.0f ms, ready %.0f ms "
                             "after", deployment, (ready - began) * 1000, (taken - began) * 1000,
                             (handed - taken) * 1000, (ready - handed) * 1000)
                return worker
            status = popen.returncode if popen is not None else "unknown (forked)"
            raise WorkerStartError(f"worker exited with status {status} before it was ready", tail(spare.log_path))
    except BaseException:
        # cancelled (the supervisor is stopping) or failed: a worker nobody will record must not outlive us
        worker.signal(signal.SIGKILL)
        raise
    finally:
        spare.channel.close()
    worker.signal(signal.SIGKILL)
    raise WorkerStartError(f"worker not ready after {settings.worker_ready_timeout:.0f}s", tail(spare.log_path))


async def until_ready(worker: WorkerProcess, channel: WorkerChannel) -> bool:
    """True once the worker reports ready on its channel (or, a runtime that does not report, answers a
    probe of its socket); False when it exits first."""
    outcome: list[bool] = []
    async with trio.open_nursery() as nursery:
        def settle(ready: bool) -> None:
            outcome.append(ready)
            nursery.cancel_scope.cancel()

        async def told() -> None:
            try:
                reported = await channel.ready()
            except ChannelError as error:
                log.warning("%s: %s", worker.deployment, error)
                return
            if reported is not None:
                settle(True)
                return
            for _ in range(40):  # end of input: it exited (reaped in a moment), or it just closed its stdin
                if not worker.alive():
                    settle(False)
                    return
                await trio.sleep(0.005)

        async def polled() -> None:  # runtimes that do not report; a worker that dies without closing the channel
            delay = FIRST_PROBE
            while True:
                await trio.sleep(delay)
                if not worker.alive():
                    settle(False)
                    return
                if worker.socket.exists() and await probe(worker.socket):
                    settle(True)
                    return
                delay = min(delay * 2, LAST_PROBE)

        nursery.start_soon(told)
        nursery.start_soon(polled)
    return outcome[0]


async def stop(worker: WorkerProcess, drain: float = 10.0) -> None:
    """SIGTERM lets hypercorn finish in-flight requests; SIGKILL after ``drain`` seconds."""
    worker.stopping = True
    worker.signal(signal.SIGTERM)
    try:
        with trio.move_on_after(drain):
            while worker.alive():
                await trio.sleep(0.02)
    except BaseException:
        worker.signal(signal.SIGKILL)  # cancelled (the supervisor is stopping): no worker outlives it
        raise
    if worker.alive():
        worker.signal(signal.SIGKILL)
    if worker.popen is not None:
        await trio.to_thread.run_sync(worker.popen.wait)
    discard_files(worker)


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def measure(worker: WorkerProcess) -> int | None:
    """RSS bytes, or None if the process is gone (or its pid is another process's now)."""
    if worker.watched:  # its exit would have been heard: the pid is still its own, one read suffices
        try:
            with open(f"/proc/{worker.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            return None
    try:
        proc = psutil.Process(worker.pid)
        if abs(proc.create_time() - worker.started) >= 1:
            return None
        return int(proc.memory_info().rss)
    except psutil.Error:
        return None


def adopt(settings: Settings, deployment: str, revision: int, pid: int | None, started: float | None,
          socket: str | None) -> WorkerProcess | None:
    if not pid or not socket or not started:
        return None
    log_path = settings.logs_dir / (Path(socket).stem + ".log")
    worker = WorkerProcess(deployment, revision, Path(socket), pid, started, log_path)
    return worker if worker.alive() and worker.socket.exists() else None
