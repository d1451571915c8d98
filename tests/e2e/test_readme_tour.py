"""The README's 5-minute tour, run as written against a real ``mockfleet up --demo`` on loopback.

The commands come from README.md itself (``up`` from the "Two commands" block, the tour from the
fenced blocks of the "5-minute tour" section), so the README and this test cannot drift apart. They
run in one bash, in order, from the repository root, as a user pastes them. What is substituted, and
nothing else:

- ``HOME`` is a fresh directory (and ``XDG_DATA_HOME`` unset), so the default data directory
  ``~/.local/share/mockfleet`` the tour reads is a new machine's; ``TMPDIR`` (``mktemp``) is ours too;
- ports: ``8443`` → a free port (``up --https-port``), ``3001`` → another; ``up`` also gets
  ``--bind 127.0.0.1 --metrics-port 0`` so nothing listens beyond loopback;
- ``.venv/bin/`` → the bin directory of the interpreter running the tests (the same install).

No DNS is involved: the tour's curl sends every name to 127.0.0.1 (``--connect-to``). The script stops
at the first failing command (``set -e``) and the transcript is shown.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, free_port

README = ROOT / "README.md"
BIN = f"{Path(sys.executable).parent}/"
MARK = "@@tour-step@@"
TOUR_UUID = "d0000000-0000-4000-8000-000000000001"


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level (``#`` lines in code are not headings)."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    fenced = False
    for end in range(start, len(lines)):
        fenced ^= lines[end].startswith("```")
        if not fenced and lines[end].startswith("#"):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def fenced_blocks(text: str) -> list[str]:
    return re.findall(r"^```(?:sh|bash|shell)?\n(.*?)^```$", text, flags=re.S | re.M)


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comment-only and empty lines dropped."""
    out: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    assert not pending, f"a block ends with a continuation: {pending!r}"
    return out


def test_extraction_reads_what_a_user_pastes() -> None:
    block = "A=1   # set\n# → output\n\nls \\\n   -l $A\n"
    assert commands(block) == ["A=1   # set", "ls     -l $A"]
    assert fenced_blocks("x\n```sh\necho 1\n```\n\n```\necho 2\n```\n") == ["echo 1\n", "echo 2\n"]
    assert section("## A\n```\n# in code\n```\ntext\n### B\nmore", "## A") == "```\n# in code\n```\ntext"


@dataclass
class Tour:
    port: int
    serve_port: int
    steps: list[tuple[str, str]]  # (command as in the README, its output: stdout and stderr)
    up_output: str

    def output(self, starts: str, occurrence: int = 0) -> str:
        """The output of the ``occurrence``-th command starting with ``starts`` (README spelling)."""
        found = [out for command, out in self.steps if command.startswith(starts)]
        assert len(found) > occurrence, f"the tour has no command starting with {starts!r}"
        return found[occurrence]

    def json(self, starts: str, occurrence: int = 0) -> object:
        return json.loads(self.output(starts, occurrence))


def substitute(command: str, port: int, serve_port: int) -> str:
    command = re.sub(r"\b8443\b", str(port), command.replace(".venv/bin/", BIN))
    return re.sub(r"\b3001\b", str(serve_port), command)


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while "\nready\n" not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("the tour needs curl and bash (.ci/run installs curl where it can)")
    readme = README.read_text()
    install = fenced_blocks(section(readme, "## Two commands"))[0]
    up = next(part.strip() for part in install.split("&&") if "mockfleet up" in part)
    tour_commands = [c for block in fenced_blocks(section(readme, "## 5-minute tour")) for c in commands(block)]
    assert len(tour_commands) > 15, tour_commands

    home = tmp_path_factory.mktemp("tour-home")
    (home / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKFLEET_", "XDG_"))}
    env.update(HOME=str(home), TMPDIR=str(home / "tmp"))
    port, serve_port = free_port(), free_port()
    log = home / "up.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([*shlex.split(substitute(up, port, serve_port)), "--https-port", str(port),
                                 "--bind", "127.0.0.1", "--metrics-port", "0"],
                                cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(proc, log)
        # harness, not README: stop at the first failure, one transcript, no serve left behind
        script = ["set -euo pipefail", "exec 2>&1", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
        for index, command in enumerate(tour_commands):
            script += [f"echo {MARK}{index}", substitute(command, port, serve_port)]
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              text=True, timeout=600, stdin=subprocess.DEVNULL)
        parts = re.split(rf"^{MARK}(\d+)\n", done.stdout, flags=re.M)
        outputs = {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}
        last = max(outputs, default=-1)
        assert done.returncode == 0, (f"tour step {last} failed: {tour_commands[last]!r} (exit {done.returncode})\n"
                                      f"{done.stdout[-6000:]}")
        steps = [(command, outputs.get(i, "")) for i, command in enumerate(tour_commands)]
        yield Tour(port, serve_port, steps, log.read_text())
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        _assert_nothing_left(str(home))


def _assert_nothing_left(marker: str) -> None:
    """``up`` stopped takes its supervisor, edge and workers with it; the tour's ``serve`` was killed."""
    import psutil

    deadline = time.monotonic() + 15
    while True:
        left = []
        for process in psutil.process_iter(["cmdline", "environ"]):
            try:
                if any(marker in arg for arg in process.info["cmdline"] or []) or \
                        (process.info["environ"] or {}).get("HOME") == marker:
                    left.append(process)
            except psutil.Error:
                pass
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for process in left:
        process.kill()
    assert not left, f"processes outlived the tour: {[p.info['cmdline'] for p in left]}"


def test_up_demo_prints_curl_lines_that_work(tour: Tour) -> None:
    lines = [line.strip() for line in tour.up_output.splitlines() if line.strip().startswith("curl ")]
    assert len(lines) == 2, tour.up_output
    users = subprocess.run([*shlex.split(lines[0]), "-sS"], capture_output=True, text=True, timeout=60)
    assert users.returncode == 0 and len(json.loads(users.stdout)) == 5, users
    listed = subprocess.run([*shlex.split(lines[1]), "-sS"], capture_output=True, text=True, timeout=60)
    uuids = {d["environmentUuid"] for d in json.loads(listed.stdout)}  # after the tour: the demo and the spec
    assert "mockfleet-demo" in uuids and TOUR_UUID not in uuids and len(uuids) == 2, listed


def test_deploy_with_curl_as_the_app_does(tour: Tour) -> None:
    deployed = tour.json('mcurl -H "Authorization: Bearer $TOKEN"')
    assert isinstance(deployed, dict)
    assert deployed["environmentUuid"] == TOUR_UUID and deployed["subdomain"] == "my-mock"
    assert deployed["url"] == f"https://my-mock.local.mockfleet.localhost:{tour.port}"
    assert deployed["visibility"] == "PRIVATE" and deployed["status"] == "RUNNING"
    assert deployed["warnings"] == []  # the demo file is a complete schema-33 environment
    users = tour.json('mcurl -H "Authorization: Bearer $KEY"')
    assert isinstance(users, list) and [u["id"] for u in users] == [0, 1, 2, 3, 4]
    refused = tour.json("mcurl https://my-mock.")
    assert refused == {"status": 401, "message": "this instance requires an API key: send Authorization: Bearer "
                                                 "<api key>"}


def test_deploy_list_rotate_reset_and_remove_with_the_cli(tour: Tour) -> None:
    key = tour.json('mcurl -H "Authorization: Bearer $TOKEN"')["apiKey"]  # type: ignore[index]
    redeployed = tour.output(".venv/bin/mockfleet deploy worker/demo_environment.json")
    assert f"url      https://my-mock.local.mockfleet.localhost:{tour.port}" in redeployed
    assert f"api key  {key}" in redeployed and "warning" not in redeployed  # same mock, same key
    listing = tour.output(".venv/bin/mockfleet ls").splitlines()
    assert listing[0].split() == ["UUID", "STATUS", "ACCESS", "URL"]
    assert sorted(line.split()[:3] for line in listing[1:]) == [[TOUR_UUID, "RUNNING", "private"],
                                                                 ["mockfleet-demo", "RUNNING", "public"]]
    rotated = tour.output(".venv/bin/mockfleet rotate-key $UUID")
    assert rotated.startswith(f"new API key for {TOUR_UUID}: ") and key not in rotated
    assert tour.json('mcurl -H "Authorization: Bearer $KEY"', 1) == {"status": 401, "message": "invalid API key"}
    assert "is back to its deployed state" in tour.output(".venv/bin/mockfleet reset $UUID")
    assert tour.output(".venv/bin/mockfleet rm $UUID").startswith(f"deleted {TOUR_UUID}")
    assert tour.json("mcurl https://my-mock.", 1) == {"status": 404,
                                                      "message": "no such instance: my-mock.local.mockfleet.localhost"}


def test_validate_and_serve_locally(tour: Tour) -> None:
    validated = tour.output(".venv/bin/mockfleet validate").splitlines()
    assert validated[0].startswith(f"valid: 'mockfleet demo' ({TOUR_UUID}), 2 routes, 1 data buckets, schema 33")
    assert "cloud: nothing to disable" in validated
    answer = tour.output("curl -sS --retry 20 --retry-connrefused --retry-delay 1 http://127.0.0.1:3001")
    greeting = json.loads(answer[answer.index("{"):answer.rindex("}") + 1])  # serve's own log lines may interleave
    assert greeting["greeting"] == "Hello you" and re.fullmatch(r"\d{4}-\d\d-\d\d", greeting["at"])


def test_openapi_in_and_out_and_a_spec_deployed(tour: Tour) -> None:
    imported = tour.output(".venv/bin/mockfleet import")
    assert imported.startswith("imported 'Swagger Petstore v3': 4 routes, 8 responses → "), imported
    environment = json.loads(Path(imported.split(" → ")[1].strip()).read_text())
    assert environment["endpointPrefix"] == "v2" and len(environment["routes"]) == 4
    exported = tour.output(".venv/bin/mockfleet export")
    assert exported.startswith("exported 'Swagger Petstore v3': 2 paths → "), exported
    document = yaml.safe_load(Path(exported.split(" → ")[1].rsplit(" (", 1)[0]).read_text())
    assert document["openapi"].startswith("3.") and sorted(document["paths"]) == ["/pets", "/pets/{id}"]
    deployed = tour.output(".venv/bin/mockfleet deploy tests/schemas/openapi_specs/petstore-v3.yaml")
    assert "converted the OpenAPI document" in deployed
    assert f"url      https://petstore.local.mockfleet.localhost:{tour.port}" in deployed, deployed
    pet = tour.json("mcurl https://petstore.")
    assert isinstance(pet, dict) and pet["name"] == "" and pet["tag"] == "" and isinstance(pet["id"], int)
