"""``just bench readiness [--deployments N] [--wakes M] [--fork-server]``: deploy-to-first-200 and wake
times on a real ``mockfleet up``, the figures that depend on how the supervisor learns a worker is ready.

Smaller than ``just bench density`` (no memory or idle-CPU phases), so a before/after of the
readiness path runs in a minute: N deploys in a row through the edge (p50/p90 from the deploy
request to the first 200), then M idle-stopped deployments woken, three rounds (p50/p99, TLS
handshake left out). Prints its figures; ``--record`` appends them to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.common import record
from tests.bench.density import deploy_series, quantile, roomy_plan, wake_series
from tests.conftest import Platform


def run(deployments: int, wakes: int, fork_server: bool) -> list[str]:
    lines: list[str] = []
    mode = "forked" if fork_server else "spawned"
    with TemporaryDirectory(prefix="readiness-") as tmp:
        flags = ("--fork-server",) if fork_server else ("--no-fork-server",)
        platform = Platform(Path(tmp) / "deploys" / "data", flags)
        platform.data_dir.parent.mkdir(parents=True)
        platform.start()
        try:
            tokens = roomy_plan(platform, deployments)
            time.sleep(1.0)  # the first warm spare (or the fork server) has imported
            took, _ = deploy_series(platform, deployments, tokens)
        finally:
            platform.stop()
        ms = [t * 1000 for t in took]
        lines.append(f"deploy-to-first-200 ({mode}, {deployments} in a row): p50 {statistics.median(ms):.0f} ms, "
                     f"p90 {quantile(ms, 0.9):.0f} ms, max {max(ms):.0f} ms")
        if wakes:
            platform = Platform(Path(tmp) / "wakes" / "data", (*flags, "--idle-stop-seconds", "2"))
            platform.data_dir.parent.mkdir(parents=True)
            platform.start()
            try:
                tokens = roomy_plan(platform, wakes)
                time.sleep(1.0)
                _, subdomains = deploy_series(platform, wakes, tokens)
                woken = [t * 1000 for t in wake_series(platform, subdomains, 3)[0]]
            finally:
                platform.stop()
            lines.append(f"wake from idle stop ({mode}, {len(woken)} wakes, TLS excluded): "
                         f"p50 {statistics.median(woken):.0f} ms, p99 {quantile(woken, 0.99):.0f} ms")
    return lines


def spawn_series(count: int, fork_server: bool) -> list[str]:
    """``workers.spawn`` alone, N times: hand-over to ready as the supervisor sees it, and the CPU
    the supervisor spends waiting (no edge, no TLS, no registry)."""
    import resource
    import sys

    import trio

    from schemas import decode_environment, encode_environment
    from schemas.handover import HandoverHeader, encode_handover_raw
    from supervisor import workers
    from supervisor.settings import Settings
    from tests.bench.density import small_environment

    mode = "forked" if fork_server else "spawned"
    with TemporaryDirectory(prefix="readiness-spawn-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", fork_server=fork_server)
        settings.prepare()
        pool = workers.SparePool(settings)
        command = [sys.executable, "-m", "worker"]
        env, _ = decode_environment(json.dumps(small_environment(0)))
        header = HandoverHeader(admin_token="t")
        if "report_ready" in HandoverHeader.__struct_fields__:
            header.report_ready = True
        payload = encode_handover_raw(header, encode_environment(env))
        took: list[float] = []
        cpu: list[float] = []

        async def main() -> None:
            pool.warm(command)
            await trio.sleep(2.0)  # the spare or fork server has imported
            for _ in range(count):
                before = resource.getrusage(resource.RUSAGE_SELF)
                started = time.perf_counter()
                worker = await workers.spawn(settings, deployment="bench", revision=1, command=command,
                                             handover=payload, pool=pool)
                took.append((time.perf_counter() - started) * 1000)
                after = resource.getrusage(resource.RUSAGE_SELF)
                cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
                await workers.stop(worker, 2)

        try:
            trio.run(main)
        finally:
            pool.close()
    return [f"spawn to ready ({mode}, {count} in a row, supervisor side): p50 {statistics.median(took):.1f} ms, "
            f"p90 {quantile(took, 0.9):.1f} ms; supervisor CPU per start p50 {statistics.median(cpu):.1f} ms"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="just bench readiness")
    parser.add_argument("--deployments", type=int, default=20)
    parser.add_argument("--wakes", type=int, default=10, help="deployments woken per round (3 rounds; 0: none)")
    parser.add_argument("--fork-server", action="store_true", help="mockfleet up --fork-server (workers forked)")
    parser.add_argument("--label", default="", help="what this run measures (e.g. before/after a change)")
    parser.add_argument("--record", action="store_true", help="append the figures to BENCHMARKS.md")
    parser.add_argument("--spawns", type=int, default=0,
                        help="instead: time workers.spawn alone this many times (no platform)")
    args = parser.parse_args()
    if args.spawns:
        lines = spawn_series(args.spawns, args.fork_server)
    else:
        lines = run(args.deployments, args.wakes, args.fork_server)
    if not args.record:
        for line in lines:
            print(line)
    else:  # prints them too
        record("readiness" + (f" ({args.label})" if args.label else ""), lines)


if __name__ == "__main__":
    main()
