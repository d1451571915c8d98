"""``mockfleet serve``'s build step: environment files or the supervisor's hand-over become apps
ready to serve (engine, admin API, WebSocket limits, state sync) and where each one listens.

Nothing here binds a socket or runs an event loop, so everything wrong with the input (an
unreadable file, an invalid environment, an outbound rule that cannot be read) is reported
before anything is bound; ``serve_loop`` does the serving."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from schemas import SchemaError, environment_from_obj
from schemas.environment_source import read_environment_source
from schemas.handover import WorkerHandover, decode_handover
from schemas.outbound import InvalidRule

from .app import MockApp
from .outbound_client import OutboundClient
from .responder import MockServer, WorkerOptions
from .state_sync import StateSync
from .websocket_server import WsLimits

STDIN = Path("-")


class BuildError(Exception):
    """The input cannot be served; ``exit_code`` is what ``serve`` exits with (1 invalid, 2 unusable)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Listen:
    """A Unix socket, or a TCP address and port."""

    uds: Path | None = None
    host: str = "0.0.0.0"
    port: int = 0

    @property
    def where(self) -> str:
        return f"unix:{self.uds}" if self.uds is not None else f"http://{self.host}:{self.port}"


@dataclass
class Served:
    """One environment ready to serve: its app and what the serve step needs to run it."""

    app: MockApp
    listen: Listen
    drain_seconds: float  # on SIGTERM, open WebSockets are served this long
    sync: StateSync | None = None  # platform workers: durable state pushed to the supervisor
    source: Path | None = None  # the file it was read from (``--watch`` reloads it); None for a hand-over
    port: int | None = None  # the ``--port`` given for it, kept across reloads


def load_environment(path: Path) -> WorkerHandover:
    """The hand-over for one environment file or OpenAPI spec (``-``: standard input).

    Raises ``OSError`` or ``SchemaError``; a spec's conversion warnings are printed."""
    data = sys.stdin.buffer.read() if path == STDIN else path.read_bytes()
    source = read_environment_source(data)  # an OpenAPI spec is converted as mockoon-cli start does
    for warning in source.warnings:
        print(f"warning: openapi import: {warning}", file=sys.stderr)
    env, report = environment_from_obj(source.environment)
    return WorkerHandover(environment=env, disabled_routes=report.disabled_routes, repairs=report.repairs)


def _read_handover(args: argparse.Namespace) -> WorkerHandover:
    from .templating.faker import FakerContext

    FakerContext(args.faker_locale, None)  # imports the locale's providers while waiting
    # everything heavy is imported by now, so a spare worker waits here already warm
    try:
        return decode_handover(sys.stdin.buffer.read())
    except SchemaError as error:
        raise BuildError(f"invalid hand-over from the supervisor: {error}", 1) from error


def _read_file(path: Path) -> WorkerHandover:
    try:
        return load_environment(path)
    except OSError as error:
        raise BuildError(f"cannot read {path}: {error.strerror}", 2) from error
    except SchemaError as error:
        raise BuildError(f"invalid environment {path}: {error}", 1) from error


def build_server(handover: WorkerHandover, args: argparse.Namespace, port: int | None) -> MockServer:
    """The engine for one hand-over, its repairs and problems printed."""
    env = handover.environment
    for repair in handover.repairs:
        print(f"warning: repaired {repair.path}: {repair.message}", file=sys.stderr)
    options = WorkerOptions(
        faker_locale=args.faker_locale, faker_seed=args.faker_seed, env_vars_prefix=args.env_vars_prefix,
        disabled_routes=frozenset(handover.disabled_routes),
        public_base_url=handover.public_base_url or args.public_base_url, cloud=handover.cloud,
    )
    if port is not None and not args.uds:
        env.port = port  # like `mockoon-cli start --port`: baseUrl and the logs name the port served
    server = MockServer(env, options)
    for problem in server.route_errors:
        print(f"warning: {problem}", file=sys.stderr)
    if handover.disabled_routes:
        print(f"note: {len(handover.disabled_routes)} route(s) disabled by a migration are not served: "
              f"{', '.join(handover.disabled_routes)}", file=sys.stderr)
    return server


def build_served(handover: WorkerHandover, args: argparse.Namespace, source: Path | None = None) -> Served:
    """The app for one hand-over, with the command line's values where the hand-over leaves one empty."""
    from .serve_command import outbound_settings_from

    admin_token = handover.admin_token or args.admin_api_token
    max_body = handover.max_request_body_size or args.max_request_body_size
    server = build_server(handover, args, args.port)
    env = server.env
    deployed_env_vars = dict(server.options.env_vars)  # before the admin API's writes return: what a purge restores
    if handover.state:
        from .snapshot import SnapshotError, decode_state, restore

        try:
            restore(server.state, decode_state(handover.state), server.options.env_vars)
        except SnapshotError as error:
            print(f"warning: starting from the deployed state: {error}", file=sys.stderr)
    try:
        client = OutboundClient(handover.outbound or outbound_settings_from(args))
    except InvalidRule as error:
        raise BuildError(str(error), 2) from error
    app = MockApp(server, max_body, admin_token, client)
    app.websockets.limits = WsLimits(
        max_message_bytes=handover.websocket_max_message_bytes or args.websocket_max_message_size,
        messages_in_per_second=handover.websocket_messages_per_second or args.websocket_messages_per_second,
        idle_seconds=handover.websocket_idle_seconds or args.websocket_idle_seconds)
    app.admin.live_update = handover.live_update
    sync = None
    if handover.state_link is not None:
        from .state_sync import Deployed

        deployed = handover.deployed
        sync = app.admin.sync = StateSync(handover.state_link, admin_token or "", app.holder, Deployed(
            deployed.environment if deployed else env,
            frozenset(deployed.disabled_routes if deployed else handover.disabled_routes), deployed_env_vars))
    if args.uds:
        listen = Listen(uds=args.uds)
    else:
        listen = Listen(host=args.host, port=args.port if args.port is not None else env.port)
    return Served(app, listen, handover.websocket_drain_seconds or args.websocket_drain_seconds, sync,
                  source, args.port)


def build(args: argparse.Namespace) -> list[Served]:
    """Everything ``serve`` will run; raises ``BuildError``."""
    if args.handover:
        return [build_served(_read_handover(args), args)]
    source = args.environment
    return [build_served(_read_file(source), args, None if source == STDIN else source)]
