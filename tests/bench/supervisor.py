"""``just bench supervisor``: deploy-to-ready latency and memory per idle worker.

A real ``mockfleet supervise`` on a scratch data directory; deploys go through its API socket
and return only once the worker answers on its socket, so the call time is deploy-to-ready.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from supervisor.registry import PlanRow, Registry
from supervisor.settings import Settings
from supervisor.up_command import api_call
from tests.bench.common import ROOT, record
from tests.bench.worker import environment

DEPLOYMENTS = 20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        settings.prepare()
        registry = Registry(settings.registry_path)
        registry.set_plan(PlanRow(name="BENCH", deployments_quota=1000, monthly_requests_quota=10**9,
                                  requests_per_second=10**6, trial=False))
        _, token = registry.create_account("bench", "BENCH")
        registry.close()
        proc = subprocess.Popen([sys.executable, "-m", "supervisor.cli", "supervise", "--data-dir", str(settings.data_dir)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while not settings.api_socket.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.5)  # let the first warm spare finish importing
            first: list[float] = []
            again: list[float] = []
            for _ in range(DEPLOYMENTS):
                env = environment()
                env["uuid"] = str(uuid.uuid4())
                body = {"environment": env, "visibility": "PUBLIC", "subdomain": None, "region": None,
                        "liveUpdate": False, "version": "bench"}
                started = time.perf_counter()
                status, answer = api_call(settings, token, "POST", "/deployments", body)
                first.append(time.perf_counter() - started)
                assert status == 200, answer
                time.sleep(1.5)  # the next spare finishes importing (~0.9 s here); deploys this far apart never wait
                started = time.perf_counter()
                status, answer = api_call(settings, token, "POST", "/deployments", body)
                again.append(time.perf_counter() - started)
                time.sleep(1.5)
            time.sleep(3)  # old revisions drain and stop
            workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                       if "--handover" in " ".join(p.cmdline())]
            rss = sorted(p.memory_info().rss for p in workers)
            uss = sorted(p.memory_full_info().uss for p in workers)
        finally:
            proc.terminate()
            proc.wait(30)
    ms = lambda values, q: statistics.quantiles(values, n=10)[q] * 1000  # noqa: E731
    lines = [
        f"supervisor: deploy-to-ready (new deployment, warm spare) median {statistics.median(first) * 1000:.0f} ms, "
        f"p90 {ms(first, 8):.0f} ms over {DEPLOYMENTS} deploys (target <= 300 ms)",
        f"supervisor: re-deploy to ready (new worker ready, route switched) median {statistics.median(again) * 1000:.0f} ms, "
        f"p90 {ms(again, 8):.0f} ms",
        f"supervisor: idle worker memory over {len(rss)} workers (+1 spare): RSS median {statistics.median(rss) / 2**20:.1f} MiB, "
        f"USS (unshared) median {statistics.median(uss) / 2**20:.1f} MiB",
    ]
    record("supervisor", lines)


if __name__ == "__main__":
    main()
