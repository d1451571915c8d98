"""The fork server fills the free blocks of its partly used pymalloc pools, so a child's first
allocations land in fresh pools of its own instead of copying hundreds of shared pages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout


def test_free_blocks_are_read_from_the_allocator_statistics() -> None:
    out = _run("""
        from worker.pool_filler import free_blocks
        blocks = free_blocks()
        print(sorted(blocks) == list(range(16, 513, 16)), all(v >= 0 for v in blocks.values()))
    """)
    assert out.split() == ["True", "True"]


def test_filling_leaves_few_free_blocks_in_partly_used_pools() -> None:
    # a fragmented heap, as a warm-up leaves it: every other object of many sizes freed
    out = _run("""
        from worker.pool_filler import fill_partial_pools, free_blocks
        kept = [bytes(n % 400 + 2) for n in range(60_000)]
        del kept[::2]
        before = sum(v for size, v in free_blocks().items() if size >= 48)
        filled = fill_partial_pools()
        after = sum(v for size, v in free_blocks().items() if size >= 48)
        print(before, filled, after)
    """)
    before, filled, after = map(int, out.split())
    assert before > 20_000 and filled >= before * 0.9
    assert after < before * 0.05, (before, after)  # what is left: the tails of the pools the filling opened
