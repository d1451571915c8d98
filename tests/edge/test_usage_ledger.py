"""The edge's usage ledger: counts in a memory-mapped file that a successor reads back whole,
even after a kill -9 of the process that counted them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge.limits import QuotaCounter
from edge.usage_ledger import LedgerBusy, UsageLedger
from tests.conftest import ROOT


def test_counts_survive_a_kill_of_the_counting_process(tmp_path: Path) -> None:
    path = tmp_path / "usage.ledger"
    script = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from edge.usage_ledger import UsageLedger
        ledger = UsageLedger(Path(sys.argv[1]))
        for i in range(25_000):
            ledger.add("dep-a" if i % 5 else "dep-b", 7 if i % 5 else 8)
        print(ledger.edge_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == -signal.SIGKILL
    ledger = UsageLedger(path)
    assert ledger.edge_id == done.stdout.strip()  # the same ledger: the supervisor knows its marks
    assert ledger.totals() == {"dep-a": 20_000, "dep-b": 5_000}
    assert ledger.accounts == {"dep-a": 7, "dep-b": 8}
    ledger.add("dep-a", 7)
    assert ledger.totals()["dep-a"] == 20_001
    ledger.close()


def test_one_edge_at_a_time_holds_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "usage.ledger"
    first = UsageLedger(path)
    with pytest.raises(LedgerBusy):
        UsageLedger(path)
    first.close()
    UsageLedger(path).close()


def test_a_foreign_or_torn_file_starts_a_new_ledger(tmp_path: Path) -> None:
    path = tmp_path / "usage.ledger"
    path.write_bytes(b"not a ledger")
    ledger = UsageLedger(path)
    assert ledger.totals() == {} and len(ledger.edge_id) == 32
    ledger.close()


def test_a_successor_counts_what_it_inherited_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "usage.ledger"
    ledger = UsageLedger(path)
    for _ in range(5):
        ledger.add("dep", 3)
    ledger.close()
    quota = QuotaCounter(ledger=UsageLedger(path), wall=lambda: 0.0)
    quota.learn(3, used=2, resets_at=100.0)
    assert quota.used(3) == 7  # maybe reported by the predecessor, maybe not: counted until known
    assert quota.take_report() == {"dep": 5}
    quota.acknowledged({"dep": 5}, {3: 5}, {3: 100.0})
    assert quota.used(3) == 5
    quota.ledger.close()


def test_a_fully_acknowledged_ledger_rotates_to_a_new_id(tmp_path: Path) -> None:
    path = tmp_path / "usage.ledger"
    quota = QuotaCounter(ledger=UsageLedger(path, capacity=4), wall=lambda: 0.0)
    old_id = quota.ledger.edge_id
    for deployment in ("a", "b", "c"):
        quota.count(deployment, 1)
    report = quota.take_report()
    quota.count("a", 1)  # counted after the report: no rotation yet
    quota.acknowledged(report, {1: 3}, {1: 100.0})
    assert quota.ledger.edge_id == old_id
    report = quota.take_report()
    assert report == {"a": 2}
    quota.acknowledged(report, {1: 4}, {1: 100.0})
    assert quota.ledger.edge_id != old_id and quota.ledger.totals() == {} and quota.take_report() == {}
    quota.count("b", 1)
    new_id = quota.ledger.edge_id
    quota.ledger.close()
    reopened = UsageLedger(path, capacity=4)
    assert reopened.totals() == {"b": 1} and reopened.edge_id == new_id
    reopened.close()
    assert not any(name.endswith(".new") for name in os.listdir(tmp_path))


def test_a_full_ledger_counts_in_memory(tmp_path: Path) -> None:
    ledger = UsageLedger(None, capacity=1)
    ledger.add("a", 1)
    ledger.add("b", 1)
    ledger.add("b", 1)
    assert ledger.totals() == {"a": 1, "b": 2}
