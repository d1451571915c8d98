"""The public Mockoon conformance corpus, replayed against ``mockfleet serve``."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import CONFORMANCE, ROOT


@pytest.mark.skipif(not (CONFORMANCE / "run.py").exists(), reason="shared/conformance is not beside this checkout")
def test_conformance_corpus_passes_at_least_95_percent():
    cmd = f"{sys.executable} -m worker {{env}} --port {{port}} --host 127.0.0.1"
    result = subprocess.run(
        [sys.executable, str(CONFORMANCE / "run.py"), "--cases", str(CONFORMANCE / "cases"), "--target-cmd", cmd],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    match = re.search(r"^(\d+) passed, (\d+) failed$", result.stdout, re.M)
    assert match, result.stdout + result.stderr
    passed, failed = int(match.group(1)), int(match.group(2))
    assert passed / (passed + failed) >= 0.95, result.stdout
