"""Each restriction of the worker sandbox, checked on a deployed worker (/proc) and from inside a
process confined by the same ``worker.sandbox.confine`` (it tries the forbidden things itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, Platform, deploy_body, running_platform
from tests.e2e.test_platform import env

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux's")


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "sandbox")


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def test_a_deployed_worker_is_confined_and_says_what_is_missing(sandboxed: Platform) -> None:
    status, answer = sandboxed.api("POST", "/deployments", deploy_body(env("boxed")))
    assert status == 200, answer
    host = sandboxed.host(answer["subdomain"])
    assert sandboxed.request(host, "GET", "/hello")[0] == 200  # it serves, confined
    details = sandboxed.api("GET", f"/deployments/{answer['environmentUuid']}")[1]
    sandbox = details["sandbox"]
    applied = set(sandbox["applied"])
    assert {"no_new_privs", "no_capabilities", "seccomp", "landlock"} <= applied, sandbox
    proc = _status(details["worker"]["pid"])
    assert proc["NoNewPrivs"] == "1"
    assert proc["Seccomp"] == "2"  # a filter is installed
    assert int(proc["CapEff"], 16) == 0 and int(proc["CapPrm"], 16) == 0
    if os.geteuid() == 0:
        assert int(proc["CapBnd"], 16) == 0
    uids = {int(u) for u in proc["Uid"].split()}
    if "unprivileged_uid" in applied:
        assert 0 not in uids and "rlimits" in applied
    else:  # e.g. the Python installation is not readable by other users, or we are not root
        assert "unprivileged_uid" in sandbox["missing"]
    limits = Path(f"/proc/{details['worker']['pid']}/limits").read_text()
    assert "Max file size             16777216" in limits
    # the operator reads the same in mockfleet up's output (from the supervisor's next watch round)
    deadline = time.monotonic() + 10
    while "workers run" not in sandboxed.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "workers run" in sandboxed.log.read_text()


PROBE = r'''
import json, os, socket, sys
from worker.sandbox import confine
result = confine(int(sys.argv[1]) if os.geteuid() == 0 else None)
out = {"applied": int(result.applied), "missing": result.missing}

def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except OSError as error:
        out[name] = error.errno

attempt("exec", lambda: os.execv("/bin/true", ["/bin/true"]))
attempt("fork", lambda: os.fork() == 0 and os._exit(0))
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())
attempt("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close())
attempt("read_etc_passwd", lambda: open("/etc/passwd").read())
attempt("write_tmp", lambda: open("/tmp/mockfleet-sandbox-probe", "w").write("x"))
attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
socket.socket(socket.AF_UNIX).close()
socket.socket(socket.AF_INET).close()
socket.socket(socket.AF_INET6).close()
import threading
t = threading.Thread(target=lambda: None); t.start(); t.join()
import decimal, uuid  # imports still work: the Python installation stays readable
out["imports"] = "ok"
print(json.dumps(out))
'''


def test_from_inside_the_forbidden_things_fail_and_the_needed_ones_work(tmp_path: Path) -> None:
    import errno

    done = subprocess.run([sys.executable, "-c", PROBE, "1296433153"], cwd=ROOT, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = json.loads(done.stdout)
    assert out["exec"] == errno.EPERM
    assert out["fork"] == errno.EPERM
    assert out["netlink"] == errno.EAFNOSUPPORT and out["packet"] == errno.EAFNOSUPPORT
    assert out["read_etc_passwd"] == errno.EACCES  # Landlock: only the Python installation is readable
    assert out["write_tmp"] == errno.EACCES
    assert out["kill_parent"] == errno.EPERM
    assert out["imports"] == "ok"
    assert not Path("/tmp/mockfleet-sandbox-probe").exists()
