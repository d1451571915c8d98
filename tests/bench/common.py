"""Shared pieces of the benchmarks: process start-up, CPU pinning, Mockoon CLI, BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / ".bench" / "node"
MOCKOON_VERSION = "9.9.0"
SERVER_CPU = 0
CLIENT_CPU = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin_client() -> None:
    """The load generator gets its own core so the server under test keeps the other."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {CLIENT_CPU})


def pinned(command: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(SERVER_CPU), *command]
    return command


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def mockoon_cli() -> Path | None:
    """Mockoon CLI from npm into .bench/node (once); None where node or npm is missing."""
    binary = NODE_DIR / "node_modules" / ".bin" / "mockoon-cli"
    if binary.exists():
        return binary
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"installing @mockoon/cli@{MOCKOON_VERSION} into {NODE_DIR} …", flush=True)
    done = subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE_DIR), f"@mockoon/cli@{MOCKOON_VERSION}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"npm install failed: {done.stderr[-500:]}", flush=True)
        return None
    return binary if binary.exists() else None


def start_mockoon(env_file: Path, port: int) -> subprocess.Popen[bytes] | None:
    cli = mockoon_cli()
    if cli is None:
        return None
    proc = subprocess.Popen(pinned([str(cli), "start", "--data", str(env_file), "--port", str(port)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_port(port, proc)
    return proc


def start_worker(env_file: Path, port: int, loop: str = "uvloop") -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(pinned([sys.executable, "-m", "worker", str(env_file), "--port", str(port),
                                    "--host", "127.0.0.1"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True,
                            env={**os.environ, "MOCKFLEET_LOOP": loop})
    wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def record(title: str, lines: list[str]) -> None:
    for line in lines:
        print(line)
    with (ROOT / "BENCHMARKS.md").open("a") as out:
        out.write(f"\n### {time.strftime('%Y-%m-%d')} {title}\n")
        for line in lines:
            out.write(f"- {line}\n")


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path
