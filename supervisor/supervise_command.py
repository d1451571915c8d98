"""``mockfleet supervise``: the registry, deployments API and worker lifecycle, without the edge."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path

import trio

from schemas.platform_flags import add_platform_arguments

from .settings import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(data_dir=args.data_dir, registry=args.registry, domain=args.domain, server_id=args.server_id, region=args.region,
                    https_port=args.https_port, worker_rss_limit=args.worker_rss_limit_mb * 2**20,
                    idle_stop_seconds=args.idle_stop_seconds, worker_stall_seconds=args.worker_stall_seconds,
                    worker_log_bytes=args.worker_log_kb * 1024,
                    outbound_allow=args.outbound_allow, outbound_deny=args.outbound_deny,
                    outbound_resolve=args.outbound_resolve, outbound_connect_timeout=args.outbound_connect_timeout,
                    outbound_timeout=args.outbound_timeout, outbound_max_concurrent=args.outbound_max_concurrent,
                    outbound_max_response_bytes=int(args.outbound_max_response_mb * 2**20),
                    fork_server=args.fork_server, capacity=args.capacity, default_region=args.default_region,
                    failover_after=args.failover_after,
                    metrics_port=args.supervisor_metrics_port)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("supervise", help="run the supervisor alone (mockfleet up runs it with the edge)")
    add_platform_arguments(p)
    p.set_defaults(func=run)


async def _listen_unix(path: Path) -> trio.SocketListener:
    if path.exists():
        path.unlink()
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(str(path))
    os.chmod(path, 0o600)
    sock.listen(512)
    return trio.SocketListener(sock)


async def main(settings: Settings, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    from .api import DeploymentsApi
    from .control_server import serve_control
    from .http_server import serve_connection
    from .metrics_server import serve_metrics
    from .outbound_broker import OutboundBroker
    from .service import MAX_ENVIRONMENT, Supervisor
    from .state_server import serve_state

    supervisor = Supervisor(settings)
    api = DeploymentsApi(supervisor)
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            # workers push their state here: open before any starts, and until their final pushes
            state_listener = await _listen_unix(settings.state_socket)
            nursery.start_soon(trio.serve_listeners, partial(serve_state, registry=supervisor.registry,
                                                             on_revision=supervisor.revision_event), [state_listener])
            # workers without network connect through the broker: open before any starts
            await nursery.start(OutboundBroker(supervisor.outbound).serve, settings.outbound_broker_socket)
            await nursery.start(supervisor.run)
            api_listener = await _listen_unix(settings.api_socket)
            control_listener = await _listen_unix(settings.control_socket)
            nursery.start_soon(partial(trio.serve_listeners, partial(serve_connection, handler=api,
                                                                      max_body=MAX_ENVIRONMENT + 2**20),
                                       [api_listener]))
            nursery.start_soon(trio.serve_listeners, partial(serve_control, supervisor=supervisor), [control_listener])
            if settings.metrics_port:
                await nursery.start(serve_metrics, settings.metrics_port, supervisor.render_metrics)
            print(f"mockfleet supervisor ready: api unix:{settings.api_socket} control unix:{settings.control_socket}",
                  flush=True)
            task_status.started()
            async for _ in signals:
                break
            with trio.move_on_after(15):
                await supervisor.shutdown()
            nursery.cancel_scope.cancel()
    supervisor.registry.close()


def outbound_rules_problem(args: argparse.Namespace) -> str | None:
    """The first operator rule that cannot be read, said before anything starts."""
    from schemas.outbound import InvalidRule, parse_resolve, parse_rule

    try:
        for rule in [*(args.outbound_allow or []), *(args.outbound_deny or [])]:
            parse_rule(rule)
        for entry in args.outbound_resolve or []:
            parse_resolve(entry)
    except InvalidRule as error:
        return str(error)
    return None


def raise_open_files() -> None:
    """The soft limit on open files up to the hard one: each worker costs the supervisor a pidfd
    (and its sockets while it starts), and a soft limit of 1,024 would cap the deployments."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an infinite hard limit some kernels refuse as a soft one
            pass


def run(args: argparse.Namespace) -> int:
    from .children import DirectoryInUse, lock_directory

    problem = outbound_rules_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor %(levelname)s %(message)s")
    settings = settings_from(args)
    settings.prepare()
    raise_open_files()
    try:
        lock = lock_directory(settings.data_dir / "supervisor.lock")  # one supervisor per registry
    except DirectoryInUse as error:
        print(f"error: {error}: a second supervisor would restart the same workers", file=sys.stderr)
        return 75  # EX_TEMPFAIL: `up` retries with backoff until the holder is gone
    from .fleet import ServerTaken

    taken: ServerTaken | None = None
    try:
        trio.run(main, settings)
    except* ServerTaken as group:  # another live process holds this server id (supervisor/fleet.py)
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):  # nested nurseries nest their groups
            leaf = leaf.exceptions[0]
        taken = leaf  # type: ignore[assignment]
    finally:
        os.close(lock)
    if taken is not None:
        print(f"error: {taken}", file=sys.stderr)
        return 75  # EX_TEMPFAIL: `up` retries with backoff (the holder may be going away)
    return 0
