"""One owner per data directory, and restart delays that grow: pure parts of ``mockfleet up``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.children import Backoff, DirectoryInUse, lock_directory


def test_backoff_doubles_on_quick_exits_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(first=0.5, most=4.0, stable_after=30.0)
    assert [backoff.exited(0.1) for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff.exited(31.0) == 0.5


def test_a_second_process_cannot_take_the_directory_lock(tmp_path: Path) -> None:
    lock = tmp_path / "up.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from supervisor.children import "
         "lock_directory; lock_directory(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)", str(lock)],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(DirectoryInUse) as refused:
            lock_directory(lock)
        assert refused.value.holder == holder.pid
    finally:
        holder.kill()
        holder.wait()
    fd = lock_directory(lock)  # the kernel dropped the dead holder's lock
    assert fd >= 0
