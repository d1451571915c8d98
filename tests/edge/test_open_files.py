"""The edge's open-files limit: raised to the hard one, and the connections it admits cut to what
the limit holds (two descriptors each) when even that is short, with a warning that says how to fix it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pytest

from edge.open_files import RESERVED, needed, plan
from tests.conftest import ROOT


def test_the_soft_limit_goes_to_the_hard_one() -> None:
    out = plan(1024, 65536, 10_000)
    assert (out.soft, out.max_connections, out.warning) == (65536, 10_000, None)


def test_a_short_hard_limit_admits_what_it_holds_and_says_so() -> None:
    out = plan(1024, 4096, 10_000)
    assert out.soft == 4096 and out.max_connections == (4096 - RESERVED) // 2 == 1920
    assert out.warning is not None and "admits 1920" in out.warning and str(needed(10_000)) in out.warning


def test_unlimited_goes_to_what_the_connections_need_and_a_higher_soft_limit_stays() -> None:
    assert plan(1024, None, 10_000).soft == 2 * 10_000 + RESERVED
    assert plan(500_000, None, 10_000).soft == 500_000
    tiny = plan(300, 300, 4)
    assert (tiny.soft, tiny.max_connections, tiny.warning) == (300, 4, None)


SHELL = """
import json, resource
from edge.open_files import raise_open_files
import sys
got = raise_open_files(int(sys.argv[1]))
print(json.dumps({"limit": resource.getrlimit(resource.RLIMIT_NOFILE), "admits": got.max_connections,
                  "warning": got.warning}))
"""


@pytest.mark.parametrize("connections", [10_000, 1000])
def test_the_process_limit_is_raised(connections: int) -> None:
    hard = 4096
    current = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if current != resource.RLIM_INFINITY and current < hard:
        pytest.skip(f"this process's hard limit is {current}")

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    done = subprocess.run([sys.executable, "-c", SHELL, str(connections)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          preexec_fn=limited, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["limit"] == [hard, hard]
    assert out["admits"] == min(connections, (hard - RESERVED) // 2)
    assert (out["warning"] is None) is (hard >= needed(connections))
