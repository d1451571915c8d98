"""Which processes under our run directory nobody owns any more (a pure decision; the shell kills).

A spawned worker names its socket on its command line (``--uds <run>/w-….sock``); a forked worker
carries its fork server's command line (``--fork-server <run>/fork-….sock``) and is known by its pid
and start time as the registry recorded them. Either kind that no deployment records is what a
killed supervisor left mid-deploy or mid-drain, and is stopped; so is the fork server of a
previous supervisor. Our own fork servers and the children they are forking now are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

START_TIME_SLACK = 1.0  # psutil's create time and the registry's both round to well under a second


@dataclass(frozen=True)
class SeenProcess:
    pid: int
    ppid: int
    started: float
    cmdline: tuple[str, ...]


@dataclass(frozen=True)
class Owned:
    """What this supervisor owns: sockets and (pid, start time) of recorded workers, its fork servers."""

    sockets: frozenset[str]
    workers: frozenset[tuple[int, float]]
    fork_servers: frozenset[int]


def _spawned_socket(cmdline: tuple[str, ...], run_dir: str) -> str | None:
    return next((arg for arg in cmdline if arg.startswith(run_dir + "/w-")), None)


def _forked(cmdline: tuple[str, ...], run_dir: str) -> bool:
    return any(arg == "--fork-server" and following.startswith(run_dir + "/fork-")
               for arg, following in zip(cmdline, cmdline[1:], strict=False))


def _recorded(process: SeenProcess, owned: Owned) -> bool:
    return any(pid == process.pid and abs(started - process.started) < START_TIME_SLACK
               for pid, started in owned.workers)


def orphans(processes: Iterable[SeenProcess], run_dir: str, owned: Owned) -> list[int]:
    """Pids to kill: workers (spawned or forked) and fork servers under ``run_dir`` we do not own."""
    out: list[int] = []
    for process in processes:
        socket = _spawned_socket(process.cmdline, run_dir)
        if socket is not None:
            if socket not in owned.sockets:
                out.append(process.pid)
            continue
        if not _forked(process.cmdline, run_dir):
            continue
        if process.pid in owned.fork_servers or process.ppid in owned.fork_servers or _recorded(process, owned):
            continue
        out.append(process.pid)
    return out
