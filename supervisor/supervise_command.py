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

from .settings import Settings, default_data_dir


def add_platform_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="registry, certificates, logs")
    add_registry_argument(p)
    p.add_argument("--domain", default="mockfleet.localhost")
    p.add_argument("--server-id", default="local")
    p.add_argument("--region", default="local")
    p.add_argument("--https-port", type=int, default=8443)
    p.add_argument("--worker-rss-limit-mb", type=int, default=384)
    p.add_argument("--worker-stall-seconds", type=float, default=60.0,
                   help="a worker whose event loop has not turned for this long is killed and restarted "
                        "(the edge's request deadline; an edge 504 confirms a hang sooner)")
    p.add_argument("--worker-log-kb", type=int, default=1024,
                   help="a worker's log is rotated past this size (the previous part is kept as .1)")
    p.add_argument("--fork-server", action="store_true",
                   help="fork workers from one warm fork server per runtime (less memory, faster deploys)")
    p.add_argument("--idle-stop-seconds", type=float, default=0.0,
                   help="stop workers that got no request for this long (0: never); requests wake them")
    p.add_argument("--supervisor-metrics-port", type=int, default=0,
                   help="Prometheus metrics of deployments and workers on 127.0.0.1 (0: off)")
    add_outbound_arguments(p)


def add_registry_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", default=os.environ.get("MOCKFLEET_REGISTRY", ""), metavar="sqlite:PATH|postgresql://…",
                   help="where accounts, plans and deployments live (default: registry.sqlite3 in the data dir; "
                        "also $MOCKFLEET_REGISTRY, which keeps a password out of the process list)")


def add_outbound_arguments(p: argparse.ArgumentParser) -> None:
    """Deployments' proxy mode and callbacks reach public addresses only, unless opened here."""
    p.add_argument("--outbound-allow", action="append", metavar="CIDR|HOST[:PORT]",
                   help="open a range or host to deployments' proxy mode and callbacks (an intranet); repeatable, "
                        "kept in the registry (given: replaces the kept list)")
    p.add_argument("--outbound-deny", action="append", metavar="CIDR|HOST[:PORT]",
                   help="close a range or host that would be public; repeatable, kept in the registry")
    p.add_argument("--outbound-resolve", action="append", metavar="HOST=ADDRESS",
                   help="answer this name without DNS (intranet names); repeatable, kept in the registry")
    p.add_argument("--outbound-connect-timeout", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--outbound-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="total time of one outbound request, answer included")
    p.add_argument("--outbound-max-concurrent", type=int, default=16, help="outbound requests at once, per deployment")
    p.add_argument("--outbound-max-response-mb", type=float, default=16.0, help="largest upstream answer relayed")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(data_dir=args.data_dir, registry=args.registry, domain=args.domain, server_id=args.server_id, region=args.region,
                    https_port=args.https_port, worker_rss_limit=args.worker_rss_limit_mb * 2**20,
                    idle_stop_seconds=args.idle_stop_seconds, worker_stall_seconds=args.worker_stall_seconds,
                    worker_log_bytes=args.worker_log_kb * 1024,
                    outbound_allow=args.outbound_allow, outbound_deny=args.outbound_deny,
                    outbound_resolve=args.outbound_resolve, outbound_connect_timeout=args.outbound_connect_timeout,
                    outbound_timeout=args.outbound_timeout, outbound_max_concurrent=args.outbound_max_concurrent,
                    outbound_max_response_bytes=int(args.outbound_max_response_mb * 2**20),
                    fork_server=args.fork_server, metrics_port=args.supervisor_metrics_port)


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


def run(args: argparse.Namespace) -> int:
    from .children import DirectoryInUse, lock_directory

    problem = outbound_rules_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor %(levelname)s %(message)s")
    settings = settings_from(args)
    settings.prepare()
    try:
        lock = lock_directory(settings.data_dir / "supervisor.lock")  # one supervisor per registry
    except DirectoryInUse as error:
        print(f"error: {error}: a second supervisor would restart the same workers", file=sys.stderr)
        return 75  # EX_TEMPFAIL: `up` retries with backoff until the holder is gone
    try:
        trio.run(main, settings)
    finally:
        os.close(lock)
    return 0
