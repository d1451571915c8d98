"""How ``mockfleet up`` keeps its children: one ``up`` per data directory, children that die with
it, and restarts that back off instead of spinning (an edge whose port is taken used to restart
57 times in 25 s).

After a ``kill -9`` of ``up`` its supervisor and edge used to live on as orphans and a second
``up`` started a second supervisor on the same registry; now the children get SIGTERM when
``up`` dies (``PR_SET_PDEATHSIG``) and a directory lock refuses a second owner.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1


class DirectoryInUse(Exception):
    """Another process holds the lock; ``holder`` is its pid as it wrote it (0 if unknown)."""

    def __init__(self, path: Path, holder: int) -> None:
        super().__init__(f"{path.parent} is in use by another mockfleet process"
                         + (f" (pid {holder})" if holder else ""))
        self.holder = holder


def lock_directory(path: Path) -> int:
    """Take an exclusive flock on ``path`` for the life of the process (the kernel drops it when the
    process dies, however it dies); the returned fd must stay open. Writes our pid into the file."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise DirectoryInUse(path, int(holder) if holder.isdigit() else 0) from None
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when the process that started it dies (Linux only;
    elsewhere a no-op). If the parent is already gone when the child starts, it signals itself."""
    parent = os.getpid()

    def arm() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return arm


@dataclass
class Backoff:
    """Delay before the next restart of a child: doubles per quick exit, resets after a stable run."""

    first: float = 0.5
    most: float = 30.0
    stable_after: float = 30.0
    delay: float = 0.0

    def exited(self, ran_for: float) -> float:
        """Seconds to wait before restarting a child that ran ``ran_for`` seconds."""
        if ran_for >= self.stable_after:
            self.delay = 0.0
        self.delay = self.first if self.delay == 0.0 else min(self.most, self.delay * 2)
        return self.delay
