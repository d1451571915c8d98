"""The public Mockoon conformance corpus, replayed against ``mockfleet serve``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE, ROOT


def _replay(cases: Path) -> tuple[int, int, str]:
    cmd = f"{sys.executable} -m worker {{env}} --port {{port}} --host 127.0.0.1"
    result = subprocess.run(
        [sys.executable, str(CONFORMANCE / "run.py"), "--cases", str(cases), "--target-cmd", cmd, "--jobs", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    match = re.search(r"^(\d+) passed, (\d+) failed$", result.stdout, re.M)
    assert match, result.stdout + result.stderr
    return int(match.group(1)), int(match.group(2)), result.stdout


@pytest.mark.skipif(not (CONFORMANCE / "run.py").exists(), reason="shared/conformance is not beside this checkout")
def test_conformance_corpus_passes_at_least_99_percent():
    passed, failed, output = _replay(CONFORMANCE / "cases")
    assert passed / (passed + failed) >= 0.99, output


@pytest.mark.skipif(not (CONFORMANCE / "run.py").exists(), reason="shared/conformance is not beside this checkout")
def test_our_recorded_cases_all_pass():
    """Behaviours the public corpus does not cover, recorded from Mockoon CLI 9.9.0 (tests/worker/corpus)."""
    passed, failed, output = _replay(Path(__file__).parent / "corpus")
    assert failed == 0 and passed > 0, output
