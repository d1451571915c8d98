"""Workers without network: each one in a network namespace of its own (no interface but a loopback
that is down), proxy mode and callbacks through the supervisor's outbound broker — spawned and
forked workers alike. Checked from outside (``/proc/PID``, ``nsenter``) and from inside a process
confined by the same ``worker.sandbox.confine`` (it tries to open IP sockets itself).

As in ``test_outbound_platform.py``, a loopback upstream stands in for a public host, opened by
name, and the stub resolver (``--outbound-resolve``) answers for it: the broker, not the worker,
asks it now.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Platform, make_env, running_platform
from tests.e2e.test_outbound_platform import callback_records
from tests.upstream_server import UpstreamServer

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace needs root (non-root: see the degrade test)")
CALLBACK = "00000000-0000-4000-8000-0000000000c2"


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


@pytest.fixture(scope="module", params=["spawned", "forked"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             upstream: UpstreamServer) -> Iterator[Platform]:
    fork = ("--fork-server",) if request.param == "forked" else ("--no-fork-server",)
    yield from running_platform(tmp_path_factory, f"netns-{request.param}", *fork,
                                "--outbound-allow", f"upstream.test:{upstream.port}",
                                "--outbound-resolve", "upstream.test=127.0.0.1",
                                "--outbound-resolve", "rebind.test=127.0.0.1", "--outbound-timeout", "3")


def _environment(proxy_host: str, callback_uri: str) -> dict[str, Any]:
    route = {"uuid": str(uuidlib.uuid4()), "type": "http", "method": "post", "endpoint": "orders/:id",
             "responses": [{"uuid": str(uuidlib.uuid4()), "body": '{"order": "{{urlParam \'id\'}}"}',
                            "statusCode": 202, "default": True, "callbacks": [{"uuid": CALLBACK, "latency": 0}]}]}
    callbacks = [{"uuid": CALLBACK, "id": "cb", "name": "notify", "method": "post", "uri": callback_uri,
                  "body": '{"order": "{{urlParam \'id\'}}"}'}]
    return make_env([route], uuid=str(uuidlib.uuid4()), name="netns", proxyMode=True, proxyHost=proxy_host,
                    callbacks=callbacks)


def _deploy(platform: Platform, environment: dict[str, Any]) -> dict[str, Any]:
    status, answer = platform.api("POST", "/deployments", {"environment": environment, "visibility": "PUBLIC",
                                                           "version": "9.9.0"})
    assert status == 200, answer
    return answer


def test_outbound_goes_through_the_broker_and_the_worker_has_no_network(platform: Platform,
                                                                        upstream: UpstreamServer) -> None:
    base = f"http://upstream.test:{upstream.port}"
    answer = _deploy(platform, _environment(f"{base}/base", f"{base}/hook/{{{{urlParam 'id'}}}}"))
    host = platform.host(answer["subdomain"])
    status, headers, body = platform.request(host, "GET", "/users?page=2")
    assert status == 201, body
    seen = json.loads(body)
    assert seen["path"] == "/base/users?page=2" and ["host", f"upstream.test:{upstream.port}"] in seen["headers"]
    assert platform.request(host, "POST", "/orders/7", body=b"{}")[0] == 202
    record = callback_records(platform, answer, 1)[0]
    assert record["status"] == 201 and record["url"].endswith("/hook/7"), record
    details = platform.api("GET", f"/deployments/{answer['environmentUuid']}")[1]
    sandbox, pid = details["sandbox"], details["worker"]["pid"]
    if os.geteuid() != 0:
        assert "no_network" in sandbox["missing"], sandbox
        return
    assert "no_network" in sandbox["applied"] and "seccomp" in sandbox["applied"], sandbox
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    devices = [line.split(":")[0].strip() for line in Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]]
    assert devices == ["lo"]
    assert Path(f"/proc/{pid}/net/route").read_text().splitlines()[1:] == []  # no route: lo is down
    assert Path(f"/proc/{pid}/net/if_inet6").read_text() == ""  # not even ::1
    if shutil.which("nsenter") and shutil.which("ip"):
        link = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-o", "link"], capture_output=True,
                              text=True, timeout=10, check=True).stdout
        assert link.count("\n") == 1 and ": lo:" in link and "state DOWN" in link, link
    assert details["outbound"]["requests"] == 2 and details["outbound"]["refused"] == 0


@ROOT_ONLY
def test_forked_workers_join_one_namespace_and_spawned_ones_make_their_own(platform: Platform,
                                                                           upstream: UpstreamServer) -> None:
    base = f"http://upstream.test:{upstream.port}"
    nets, deployed = [], []
    try:
        for _ in range(2):  # both running at once
            answer = _deploy(platform, _environment(f"{base}/base", f"{base}/hook"))
            deployed.append(answer["environmentUuid"])
            assert platform.request(platform.host(answer["subdomain"]), "GET", "/users")[0] == 201
            details = platform.api("GET", f"/deployments/{answer['environmentUuid']}")[1]
            assert "no_network" in details["sandbox"]["applied"], details["sandbox"]
            nets.append(os.readlink(f"/proc/{details['worker']['pid']}/ns/net"))
    finally:
        for uuid in deployed:  # the plan allows 3 deployments
            platform.api("DELETE", f"/deployments/{uuid}")
    assert os.readlink("/proc/self/ns/net") not in nets
    forked = "--no-fork-server" not in platform.extra
    assert (nets[0] == nets[1]) is (forked and landlock_scopes()), nets


def landlock_scopes() -> bool:
    from worker.sandbox import landlock_abi

    return landlock_abi() >= 6


@ROOT_ONLY
@pytest.mark.parametrize("where", ["http://127.0.0.1:{port}/base", "http://rebind.test:{port}/base"])
def test_the_broker_refuses_what_the_guard_refuses(platform: Platform, upstream: UpstreamServer, where: str) -> None:
    target = where.format(port=upstream.port)
    answer = _deploy(platform, _environment(target, f"http://upstream.test:{upstream.port}/redirect?to="
                                                    f"http://127.0.0.1:{upstream.port}/stolen"))
    before = len(upstream.received)
    status, _, body = platform.request(platform.host(answer["subdomain"]), "GET", "/users")
    assert status == 504
    assert body.decode().startswith(f"An error occurred while trying to proxy to {target} /users: "
                                    "Error: refused by the outbound policy: "), body
    assert "is not a public address: loopback" in body.decode()
    assert len(upstream.received) == before
    # the callback reaches the opened upstream, whose redirect to loopback the broker refuses
    assert platform.request(platform.host(answer["subdomain"]), "POST", "/orders/1", body=b"{}")[0] == 202
    record = callback_records(platform, answer, 1)[0]
    assert record["refused"] is True and f"127.0.0.1:{upstream.port} is not a public address" in record["error"]
    with upstream.lock:
        assert not [r for r in upstream.received if r["path"].startswith("/stolen")]


PROBE = r'''
import errno, json, os, socket, sys
from worker.sandbox import confine
result = confine(None, isolate_network=True)
out = {"applied": int(result.applied), "missing": result.missing}

def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except OSError as error:
        out[name] = error.errno

attempt("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
attempt("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close())
attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).close())
# /proc is out of Landlock's reach: ask the kernel through a Unix socket (net device ioctls work on any)
import array, fcntl, struct
unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
buf = array.array("B", bytes(40 * 32))
answer = fcntl.ioctl(unix.fileno(), 0x8912, struct.pack("iL", len(buf), buf.buffer_info()[0]))  # SIOCGIFCONF
out["configured_interfaces_bytes"] = struct.unpack("iL", answer)[0]  # interfaces with an address
lo = fcntl.ioctl(unix.fileno(), 0x8913, struct.pack("16sH14x", b"lo", 0))  # SIOCGIFFLAGS
out["lo_flags"] = struct.unpack("16sH14x", lo)[1]
print(json.dumps(out))
'''


def _probe(*prefix: str) -> dict[str, Any]:
    done = subprocess.run([*prefix, sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return dict(json.loads(done.stdout))


@ROOT_ONLY
def test_from_inside_a_worker_without_network_has_no_ip_sockets() -> None:
    import errno

    from schemas.heartbeat import SandboxFlag

    out = _probe()
    assert out["applied"] & SandboxFlag.no_network and out["applied"] & SandboxFlag.seccomp, out
    assert out["inet"] == errno.EAFNOSUPPORT and out["inet6"] == errno.EAFNOSUPPORT
    assert out["unix"] == "allowed"  # the broker and the worker's own socket
    assert out["configured_interfaces_bytes"] == 0  # no interface has an address
    assert out["lo_flags"] & 0x8 and not out["lo_flags"] & 0x1  # IFF_LOOPBACK, not IFF_UP


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) to run the probe as non-root")
def test_as_non_root_the_namespace_is_missing_and_says_why() -> None:
    from schemas.heartbeat import SandboxFlag

    if os.geteuid() == 0:
        done = subprocess.run(["unshare", "--user", "true"], capture_output=True, timeout=10)
        if done.returncode != 0:
            pytest.skip("user namespaces are not available here")
    out = _probe("unshare", "--user") if os.geteuid() == 0 else _probe()  # uid 65534 inside: not root
    assert not out["applied"] & SandboxFlag.no_network
    assert out["missing"]["no_network"].startswith("not started as root"), out
    assert out["inet"] == "allowed"  # without a namespace seccomp keeps IP: the worker may still need it


SHARED = r'''
import ctypes, errno, json, os, socket, sys, time
from worker import sandbox

why = sandbox.share_network()
if why is not None:
    print(json.dumps({"skip": why}))
    raise SystemExit(0)
name = b"\0mockfleet-shared-probe-%d" % os.getpid()
ready_r, ready_w = os.pipe()
out_r, out_w = os.pipe()

def child(body):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException as error:  # reported through the exit code
            os.write(2, repr(error).encode())
            code = 3
        os._exit(code)
    return pid

def confined_listener():
    result = sandbox.confine(None, isolate_network=True)
    assert result.applied & sandbox.SandboxFlag.no_network and result.applied & sandbox.SandboxFlag.landlock, result
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(name)
    listener.listen(4)
    os.write(ready_w, b"r")
    time.sleep(30)

def connect(confined):
    def body():
        os.read(ready_r, 1)
        os.write(ready_w, b"r")  # for the next one
        if confined:
            sandbox.confine(None, isolate_network=True)
        else:
            shared = sandbox._shared_network
            assert ctypes.CDLL(None, use_errno=True).setns(shared, 0x40000000) == 0
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(name)
            result = "connected"
        except OSError as error:
            result = error.errno
        os.write(out_w, json.dumps({"confined": confined, "result": result}).encode() + b"\n")
    return body

listener = child(confined_listener)
os.read(ready_r, 1)
os.write(ready_w, b"r")
others = [child(connect(True)), child(connect(False))]
for pid in others:
    assert os.waitpid(pid, 0)[1] == 0
seen = [json.loads(line) for line in os.read(out_r, 4096).decode().splitlines()]
listener_net = os.readlink(f"/proc/{listener}/ns/net")
os.kill(listener, 9)
os.waitpid(listener, 0)
print(json.dumps({"seen": seen, "listener_net": listener_net, "shared_net": os.readlink(f"/proc/self/fd/{sandbox._shared_network}"),
                  "own_net": os.readlink("/proc/self/ns/net")}))
'''


@ROOT_ONLY
def test_forked_workers_share_one_empty_namespace_and_cannot_reach_each_others_abstract_sockets() -> None:
    """A fork server's children join one namespace (a start then takes no network lock); Landlock's
    scope keeps each worker's abstract Unix sockets its own, which an unconfined process there reaches."""
    import errno

    done = subprocess.run([sys.executable, "-c", SHARED], cwd=ROOT, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = json.loads(done.stdout)
    if "skip" in out:
        pytest.skip(out["skip"])
    assert out["listener_net"] == out["shared_net"] != out["own_net"]
    results = {one["confined"]: one["result"] for one in out["seen"]}
    assert results == {True: errno.EPERM, False: "connected"}, out
