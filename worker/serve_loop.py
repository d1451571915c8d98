"""``mockfleet serve``'s serve step: bind the built apps (TCP, a Unix socket, or one bound before
the sandbox closes the filesystem), run them under hypercorn on one event loop beside the
heartbeat and the state pusher, and on SIGTERM/SIGINT drain open WebSockets and push the last
state before exiting."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from . import http1_compat, http1_only, ws_compat
from .heartbeat import Heartbeat
from .readiness import report_ready  # before the sandbox: nothing is read from disk after it
from .serve_build import Served

# tasks run beside the servers until shutdown (``--watch``'s pollers): made once the loop runs
SideTask = Callable[[Served], Awaitable[None]]


def hypercorn_config(bind: str) -> Config:
    config = Config()
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "WARNING"
    config.keep_alive_timeout = 5  # like Node's server; the edge drops pooled connections idle for 4 s
    config.keep_alive_max_requests = 2**31  # hypercorn's default (1,000) would break pooled connections
    http1_only.install(config)  # no h2c upgrade, no HTTP/2 prior knowledge: the edge can't meter those
    config.bind = [bind]
    return config


def serve(served: list[Served], args: argparse.Namespace, heartbeat: Heartbeat | None,
          side_task: SideTask | None = None) -> int:
    """Serve until SIGTERM or SIGINT; the exit code."""
    http1_compat.install()
    ws_compat.install()
    configs = []
    for one in served:
        if one.listen.uds is None:
            problem = _unavailable(one.listen.host, one.listen.port)
            if problem:
                print(f"error: cannot listen on {one.listen.where}: {problem}", file=sys.stderr)
                return 2
            host = f"[{one.listen.host}]" if ":" in one.listen.host else one.listen.host  # an IPv6 address
            configs.append(hypercorn_config(f"{host}:{one.listen.port}"))
        elif args.sandbox:  # --sandbox needs --uds
            # bound before the sandbox takes the filesystem away
            configs.append(hypercorn_config(f"fd://{_bind_unix(one.listen.uds)}"))
        else:
            configs.append(hypercorn_config(f"unix:{one.listen.uds}"))
    if args.sandbox and args.uds:
        # with every outbound connection made by the broker, the worker needs no network of its own
        _confine(args, heartbeat, isolate_network=all(one.app.outbound.settings.broker for one in served))
    _run(_main(served, configs, heartbeat, side_task))
    for one in served:
        if one.listen.uds is not None and os.path.exists(one.listen.uds):
            try:
                os.unlink(one.listen.uds)
            except OSError:  # a sandboxed worker may not write its run directory: the supervisor removes it
                pass
    return 0


def _run(main: Awaitable[None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        uvloop = None  # type: ignore[assignment]
    if os.environ.get("MOCKFLEET_LOOP") == "asyncio":  # for `just bench worker`'s loop comparison
        uvloop = None  # type: ignore[assignment]
    if uvloop is not None:
        uvloop.run(main)  # type: ignore[arg-type]
    else:
        asyncio.run(main)  # type: ignore[arg-type]


async def _main(served: list[Served], configs: list[Config], heartbeat: Heartbeat | None,
                side_task: SideTask | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    beating = asyncio.ensure_future(heartbeat.run()) if heartbeat is not None else None
    side: list[asyncio.Future[None]] = []
    servers = []
    for one, config in zip(served, configs, strict=True):
        env = one.app.holder["server"].env
        print(f"mockfleet worker serving {env.name!r} ({len(env.routes)} routes) on {one.listen.where}", flush=True)
        if one.sync is not None:
            side.append(asyncio.ensure_future(one.sync.run()))
        if side_task is not None:
            side.append(asyncio.ensure_future(side_task(one)))
        app = heartbeat.watch(one.app) if heartbeat is not None else one.app  # idle workers beat rarely
        servers.append(hypercorn_serve(app, config, shutdown_trigger=_shutdown(stop, one, config)))  # type: ignore[arg-type]
    try:
        await asyncio.gather(*servers)
    finally:
        if beating is not None:
            beating.cancel()
        for task in side:
            task.cancel()
        for one in served:
            if one.sync is not None:
                await one.sync.flush(timeout=3.0)  # the final snapshot, after the drain


def _shutdown(stop: asyncio.Event, one: Served, config: Config) -> Callable[[], Awaitable[None]]:
    async def trigger() -> None:  # hypercorn awaits this once its listeners accept
        if one.report_ready:
            report_ready(str(one.listen.uds))
        await stop.wait()
        # hypercorn waits graceful_timeout for open connections: open WebSockets get the drain
        if one.app.websockets.open_connections():
            config.graceful_timeout = one.drain_seconds + 2
            asyncio.ensure_future(one.app.websockets.drain(one.drain_seconds))

    return trigger


def _unavailable(host: str, port: int) -> str:
    """Why hypercorn could not bind ``host:port`` (as it binds: SO_REUSEADDR), or "" if it can:
    checked first so that a port in use is one line, as with mockoon-cli, not a traceback."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return str(error.strerror)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return str(error.strerror)
    return ""


def _bind_unix(path: Path) -> int:
    """A listening Unix socket at ``path``; its descriptor is handed to hypercorn (fd://)."""
    if path.is_socket():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1024)
    return sock.detach()


def _confine(args: argparse.Namespace, heartbeat: Heartbeat | None, isolate_network: bool = False) -> None:
    from schemas.heartbeat import flag_names

    from .sandbox import confine

    result = confine(args.sandbox_uid, isolate_network=isolate_network)
    if heartbeat is not None:
        heartbeat.report_sandbox(int(result.applied))
    missing = "; ".join(f"{name}: {why}" for name, why in result.missing.items())
    print(f"sandbox: {', '.join(flag_names(result.applied))}" + (f" (missing {missing})" if missing else ""),
          file=sys.stderr, flush=True)
