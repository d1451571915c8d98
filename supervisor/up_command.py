"""``mockfleet up``: the whole platform from one command — supervisor and edge as two processes.

First start: data directory, local CA and certificates, a TEAM account whose token goes to
``credentials.json`` (0600) and is printed that once. Every start: the data directory is locked
(one ``up`` at a time), both processes start, die with ``up`` however it dies, and are restarted
with backoff if they exit; Ctrl-C or SIGTERM stops them in order (edge first, so no request
reaches a stopping worker).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from schemas.platform_flags import add_edge_arguments, add_platform_arguments
from schemas.tls_files import TlsLocations

from .children import Backoff, DirectoryInUse, die_with_parent, lock_directory
from .cli import module_command
from .fleet import claim_problem
from .registry import Registry
from .settings import Settings
from .supervise_command import outbound_rules_problem, settings_from

DEMO = Path(__file__).resolve().parent.parent / "worker" / "demo_environment.json"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="run the whole platform (supervisor + edge) on this machine")
    add_platform_arguments(p)
    add_edge_arguments(p)
    p.add_argument("--demo", action="store_true", help="deploy a small demo environment and print curl lines")
    p.set_defaults(func=run)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Written beside, then renamed over: a reader (the CLI, a client starting with ``up``) never sees
    the file empty or half written, and a crash mid-write leaves the previous token in place."""
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(fresh, path)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise


def ensure_credentials(settings: Settings, ca_path: Path | None) -> dict[str, Any]:
    path = settings.data_dir / "credentials.json"
    if path.exists():
        credentials: dict[str, Any] = json.loads(path.read_text())
        credentials.update({"apiUrl": settings.api_url, "apiSocket": str(settings.api_socket)})
        if ca_path:
            credentials["caPath"] = str(ca_path)
        _write_private(path, credentials)
        return credentials
    registry = Registry(settings.registry_target)
    try:
        account, token = registry.create_account("default", "TEAM")
    finally:
        registry.close()
    credentials = {"accountId": account.id, "token": token, "plan": "TEAM", "apiUrl": settings.api_url,
                   "apiSocket": str(settings.api_socket), "caPath": str(ca_path) if ca_path else None}
    _write_private(path, credentials)
    return credentials


def _forward_args(args: argparse.Namespace, edge: bool) -> list[str]:
    out = ["--data-dir", str(args.data_dir), "--domain", args.domain, "--server-id", args.server_id,
           "--region", args.region, "--https-port", str(args.https_port),
           "--worker-rss-limit-mb", str(args.worker_rss_limit_mb), "--idle-stop-seconds", str(args.idle_stop_seconds),
           "--worker-stall-seconds", str(args.worker_stall_seconds), "--worker-log-kb", str(args.worker_log_kb)]
    if not edge:
        out.append("--fork-server" if args.fork_server else "--no-fork-server")
    if not edge:  # the fleet's flags (supervisor/fleet.py)
        out += ["--capacity", str(args.capacity), "--failover-after", str(args.failover_after)]
        if args.default_region:
            out += ["--default-region", args.default_region]
    if args.supervisor_metrics_port and not edge:
        out += ["--supervisor-metrics-port", str(args.supervisor_metrics_port)]
    if not edge:
        out += ["--outbound-connect-timeout", str(args.outbound_connect_timeout),
                "--outbound-timeout", str(args.outbound_timeout),
                "--outbound-max-concurrent", str(args.outbound_max_concurrent),
                "--outbound-max-response-mb", str(args.outbound_max_response_mb)]
        for flag in ("allow", "deny", "resolve"):
            out += [item for value in getattr(args, f"outbound_{flag}") or [] for item in (f"--outbound-{flag}", value)]
    if edge:
        out += ["--bind", args.bind, "--metrics-port", str(args.metrics_port),
                "--header-timeout", str(args.header_timeout), "--send-timeout", str(args.send_timeout),
                "--max-connections", str(args.max_connections),
                "--tunnel-idle-timeout", str(args.tunnel_idle_timeout),
                "--tunnel-max-seconds", str(args.tunnel_max_seconds),
                "--max-tunnels-per-deployment", str(args.max_tunnels_per_deployment),
                "--ws-max-message-kb", str(args.ws_max_message_kb),
                "--ws-messages-in-per-second", str(args.ws_messages_in_per_second),
                "--ws-messages-out-per-second", str(args.ws_messages_out_per_second)]
        if args.http_port is not None:
            out += ["--http-port", str(args.http_port)]
            if args.http_serve:
                out.append("--http-serve")
        for flag in ("tls_cert", "tls_key", "api_tls_cert", "api_tls_key"):
            value = getattr(args, flag)
            if value:
                out += [f"--{flag.replace('_', '-')}", str(value)]
        if not args.access_log:
            out.append("--no-access-log")
    return out


# the two processes by module name: the supervisor never imports the edge
COMMANDS = {"supervise": ("supervisor", "supervise"), "edge": ("edge",)}


def _start(kind: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MOCKFLEET_REGISTRY": args.registry} if args.registry else None  # not in argv: a password
    return subprocess.Popen(module_command(*COMMANDS[kind], *_forward_args(args, kind == "edge")),
                            start_new_session=True, preexec_fn=die_with_parent(), env=env)


class TlsFilesUnusable(Exception):
    """``python -m edge certificates`` refused (it said why on stderr) and exited with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the edge's TLS files are unusable (exit {code})")
        self.code = code


def tls_locations(args: argparse.Namespace) -> TlsLocations:
    """The edge makes the local CA and certificates (or checks the operator's) and says where they are."""
    done = subprocess.run(module_command("edge", "certificates", *_forward_args(args, edge=True)),
                          stdout=subprocess.PIPE, check=False)  # its stderr is ours: the reason reaches the user
    if done.returncode != 0:
        raise TlsFilesUnusable(done.returncode)
    return msgspec.json.decode(done.stdout, type=TlsLocations)


def _wait_socket(path: Path, proc: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(path))
                return True
        except OSError:
            time.sleep(0.05)
    return False


def api_call(settings: Settings, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """The deployments API over its local socket (no TLS, no edge): for up --demo and the CLI."""
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(60)
            self.sock.connect(str(settings.api_socket))

    conn = Conn("api", timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


DEMO_UUID = "mockfleet-demo"  # not the file's uuid: deploying worker/demo_environment.json (the tour) is the user's own


def _demo(settings: Settings, credentials: dict[str, Any]) -> None:
    """Deploy the demo once, under its own uuid; a demo deployed before is left as it is (never re-deployed,
    never made public again), and nothing else the user deployed is touched."""
    status, answer = api_call(settings, credentials["token"], "GET", f"/deployments/{DEMO_UUID}")
    if status != 200:
        environment = {**json.loads(DEMO.read_text()), "uuid": DEMO_UUID}
        status, answer = api_call(settings, credentials["token"], "POST", "/deployments",
                                  {"environment": environment, "visibility": "PUBLIC", "subdomain": "demo-mock",
                                   "region": settings.region, "liveUpdate": False, "version": "mockfleet"})
    if status != 200:
        print(f"demo not deployed ({status}): {answer.get('message') if isinstance(answer, dict) else answer}",
              file=sys.stderr)
        return
    url = answer["url"]
    host = url.split("//", 1)[1].split(":", 1)[0]
    ca = credentials.get("caPath")
    cacert = f" --cacert {ca}" if ca else ""
    key = f" -H 'Authorization: Bearer {answer['apiKey']}'" if answer["visibility"] == "PRIVATE" else ""
    print(f"\ndemo deployed at {url}\ntry:\n  curl{cacert} --resolve {host}:{settings.https_port}:127.0.0.1{key} "
          f"{url}/users")
    print(f"  curl{cacert} --resolve {settings.api_host}:{settings.https_port}:127.0.0.1 "
          f"-H 'Authorization: Bearer {credentials['token']}' {settings.api_url}/deployments\n", flush=True)


def run(args: argparse.Namespace) -> int:
    problem = outbound_rules_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = settings_from(args)
    settings.prepare()
    try:
        lock = lock_directory(settings.data_dir / "up.lock")  # held until this process ends
    except DirectoryInUse as error:
        print(f"error: {error}; stop it first (one mockfleet up per data directory)", file=sys.stderr)
        return 1
    taken = claim_problem(settings)  # a server id runs once per registry (supervisor/fleet.py)
    if taken:
        print(f"error: {taken}", file=sys.stderr)
        os.close(lock)
        return 1
    first_start = not (settings.data_dir / "credentials.json").exists()
    try:
        files = tls_locations(args)
    except TlsFilesUnusable as error:
        return error.code
    ca_cert = Path(files.ca_cert) if files.ca_cert else None
    credentials = ensure_credentials(settings, ca_cert)
    print(f"mockfleet up: data {settings.data_dir}", flush=True)
    print(f"  API      {settings.api_url}  (token in {settings.data_dir / 'credentials.json'})", flush=True)
    print(f"  mocks    https://<subdomain>{settings.instances_host_suffix}:{settings.https_port}", flush=True)
    if ca_cert:
        print(f"  CA       {ca_cert}  (trust it, or pass --cacert to curl)", flush=True)
    stopping = False

    def stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor = _start("supervise", args)
    if not _wait_socket(settings.api_socket, supervisor):
        print("error: the supervisor did not start", file=sys.stderr)
        supervisor.kill()
        return 1
    edge = _start("edge", args)
    if args.demo:
        _demo(settings, credentials)
    if first_start:
        print(f"account token (shown once, kept in credentials.json): {credentials['token']}", flush=True)
    print("ready", flush=True)
    children = {"supervise": supervisor, "edge": edge}
    started = {name: time.monotonic() for name in children}
    backoff = {name: Backoff() for name in children}
    restart_at: dict[str, float] = {}
    while not stopping:
        time.sleep(0.2)
        now = time.monotonic()
        for name, proc in children.items():
            if stopping:
                break
            if name in restart_at:
                if now >= restart_at[name]:
                    del restart_at[name]
                    children[name], started[name] = _start(name, args), now
            elif proc.poll() is not None:
                delay = backoff[name].exited(now - started[name])
                restart_at[name] = now + delay
                print(f"mockfleet {name} exited with {proc.returncode}; restarting in {delay:.1f}s",
                      file=sys.stderr, flush=True)
    supervisor, edge = children["supervise"], children["edge"]
    for proc in (edge, supervisor):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    print("mockfleet stopped", flush=True)
    os.close(lock)
    return 0
