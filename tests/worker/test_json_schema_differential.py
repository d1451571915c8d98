"""worker.json_schema and the real Ajv (node, .bench/node/node_modules) on generated pairs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.worker.schema_cases import all_cases
from worker.json_schema import matches_schema

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".bench" / "node" / "node_modules"
ORACLE = Path(__file__).parent / "ajv_oracle.js"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "ajv").is_dir() or not (NODE_MODULES / "ajv-formats").is_dir(),
    reason="node with ajv and ajv-formats in .bench/node/node_modules is needed")


def test_generated_pairs_answer_as_ajv() -> None:
    cases = all_cases()
    lines = "".join(json.dumps({"schema": s, "value": v}) + "\n" for s, v in cases)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    out = subprocess.run(["node", str(ORACLE)], input=lines, capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    answers = out.stdout.split()
    assert len(answers) == len(cases)
    differ = [(s, v, a) for (s, v), a in zip(cases, answers, strict=True)
              if matches_schema(v, s) is not (a == "true")]
    assert not differ, f"{len(differ)} of {len(cases)} differ, e.g. {differ[:5]}"
