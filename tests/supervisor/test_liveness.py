"""The heartbeat judgement: pure over (stamp, now, limit); the file format shared with the worker."""

from __future__ import annotations

from pathlib import Path

from supervisor import liveness
from worker.heartbeat import Heartbeat


def test_a_stamp_older_than_the_limit_is_a_hang() -> None:
    assert liveness.is_hung(100.0, 160.0, 60.0)
    assert not liveness.is_hung(100.0, 159.9, 60.0)
    assert liveness.stalled_for(100.0, 102.5) == 2.5


def test_no_stamp_yet_or_no_file_is_never_judged() -> None:
    # a spare waiting for its hand-over, or a runtime that does not beat, is not killed for it
    assert not liveness.is_hung(0.0, 1e9, 1.0)
    assert not liveness.is_hung(None, 1e9, 1.0)
    assert liveness.stalled_for(None, 5.0) == 0.0


def test_the_worker_stamp_is_what_the_supervisor_reads(tmp_path: Path) -> None:
    import time

    path = tmp_path / "w.beat"
    liveness.create(path)
    assert liveness.read(path) == 0.0
    beat = Heartbeat(path)
    before = time.monotonic()
    beat.beat()
    stamp = liveness.read(path)
    assert stamp is not None and before <= stamp <= time.monotonic()
    assert liveness.read(tmp_path / "missing.beat") is None


def test_a_parked_worker_is_not_stalled_however_old_its_stamp() -> None:
    from schemas.heartbeat import LAYOUT

    assert liveness.stamp_of(LAYOUT.pack(100.0, 0, 30.0, 100.0)) is None  # parked at its last stamp
    assert liveness.stamp_of(LAYOUT.pack(105.0, 0, 30.0, 100.0)) == 105.0  # work came after it parked
    assert liveness.stamp_of(LAYOUT.pack(100.0, 0, 30.0, 0.0)) == 100.0  # never parked
    assert liveness.stamp_of(LAYOUT.pack(100.0, 0, 30.0, 0.0)[:24]) == 100.0  # an older runtime's file
    assert liveness.stamp_of(b"") is None
