"""``mockfleet serve``'s build step: environment files or the supervisor's hand-over become apps
ready to serve (engine, admin API, WebSocket limits, state sync) and where each one listens.

Nothing here binds a socket or runs an event loop, so everything wrong with the input (an
unreadable file, an invalid environment, an outbound rule that cannot be read) is reported
before anything is bound; ``serve_loop`` does the serving."""

from __future__ import annotations

import argparse
import os
import sys
from collections import deque
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
        if self.uds is not None:
            return f"unix:{self.uds}"
        return f"http://[{self.host}]:{self.port}" if ":" in self.host else f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class FileOptions:
    """What the command line says about one of the files it serves (mockoon-cli's flags by position)."""

    port: int | None = None
    host: str | None = None
    public_base_url: str = ""
    admin_token: str | None = None


@dataclass
class Served:
    """One environment ready to serve: its app and what the serve step needs to run it."""

    app: MockApp
    listen: Listen
    drain_seconds: float  # on SIGTERM, open WebSockets are served this long
    sync: StateSync | None = None  # platform workers: durable state pushed to the supervisor
    source: Path | None = None  # the file it was read from (``--watch`` reloads it); None for a hand-over
    options: FileOptions = FileOptions()  # kept across reloads
    report_ready: bool = False  # a platform worker tells its supervisor on stdin once it accepts (readiness.py)


def per_file(values: list[str] | None, count: int) -> list[str | None]:
    """The value given for each of ``count`` files, by position (mockoon-cli's ``--port 3000 3001``)."""
    given = values or []
    return [given[index] if index < len(given) else None for index in range(count)]


def admin_tokens(values: list[str] | None, count: int) -> list[str | None]:
    """mockoon-cli's rule: tokens repeated or comma-separated; none, one for every file, or one per file."""
    tokens = [token.strip() for value in values or [] for token in value.split(",") if token.strip()]
    if len(tokens) > 1 and len(tokens) != count:
        raise BuildError(f"the number of admin API tokens ({len(tokens)}) must be 1 or match the number of "
                         f"environments ({count})", 2)
    picked: list[str | None] = list(tokens) if len(tokens) > 1 else [tokens[0] if tokens else None] * count
    return picked


def file_options(args: argparse.Namespace, count: int) -> list[FileOptions]:
    """Each file's port, host, public base URL and admin token; raises ``BuildError``."""
    tokens = args.admin_api_token or [os.environ.get("MOCKFLEET_ADMIN_TOKEN") or
                                      os.environ.get("MOCKOON_ADMIN_API_TOKEN") or ""]
    ports = [str(port) for port in args.port or []]
    return [FileOptions(port=int(port) if port is not None else None, host=host, public_base_url=url or "",
                        admin_token=token)
            for port, host, url, token in zip(per_file(ports, count), per_file(args.host, count),
                                              per_file(args.public_base_url, count), admin_tokens(tokens, count),
                                              strict=True)]


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
    from .templating.faker import faker_context

    faker_context(args.faker_locale, None)  # builds the shared unseeded context and imports the locale's providers while waiting
    # everything heavy is imported by now, so a spare worker waits here already warm
    try:
        return decode_handover(sys.stdin.buffer.read())
    except SchemaError as error:
        raise BuildError(f"invalid hand-over from the supervisor: {error}", 1) from error


def _read_file(path: Path) -> WorkerHandover:
    if str(path).startswith(("http:/", "https:/", "mockoon:/")):  # Path() has folded the URL's "//"
        raise BuildError(f"{path}: serve reads local files only, nothing is downloaded (fetch it first; "
                         "cloud environments: mockfleet deploy)", 2)
    try:
        return load_environment(path)
    except OSError as error:
        raise BuildError(f"cannot read {path}: {error.strerror}", 2) from error
    except SchemaError as error:
        raise BuildError(f"invalid environment {path}: {error}", 1) from error


def build_server(handover: WorkerHandover, args: argparse.Namespace, given: FileOptions) -> MockServer:
    """The engine for one hand-over, its repairs and problems printed."""
    env = handover.environment
    for repair in handover.repairs:
        print(f"warning: repaired {repair.path}: {repair.message}", file=sys.stderr)
    options = WorkerOptions(
        faker_locale=args.faker_locale, faker_seed=args.faker_seed, env_vars_prefix=args.env_vars_prefix,
        disabled_routes=frozenset(handover.disabled_routes),
        public_base_url=handover.public_base_url or given.public_base_url, cloud=handover.cloud,
        disabled_route_keywords=tuple(args.disable_routes or ()), random_latency=args.enable_random_latency,
        log_transactions=args.log_transaction, route_metadata_headers=args.enable_route_metadata_headers,
        max_callback_depth=args.max_callback_depth,
    )
    if given.port is not None and not args.uds:
        env.port = given.port  # like `mockoon-cli start --port`: baseUrl and the logs name the port served
    if given.host is not None:
        env.hostname = given.host
    if args.proxy is not None:
        env.proxy_mode = args.proxy == "enabled"
    server = MockServer(env, options)
    server.state.logs = deque(server.state.logs, maxlen=max(args.max_transaction_logs, 0))
    for problem in server.route_errors:
        print(f"warning: {problem}", file=sys.stderr)
    if handover.disabled_routes:
        print(f"note: {len(handover.disabled_routes)} route(s) disabled by a migration are not served: "
              f"{', '.join(handover.disabled_routes)}", file=sys.stderr)
    return server


def build_served(handover: WorkerHandover, args: argparse.Namespace, given: FileOptions,
                 source: Path | None = None) -> Served:
    """The app for one hand-over, with the command line's values where the hand-over leaves one empty."""
    from .serve_command import outbound_settings_from

    admin_token = handover.admin_token or given.admin_token or None
    max_body = handover.max_request_body_size or args.max_request_body_size
    server = build_server(handover, args, given)
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
    app = MockApp(server, max_body, admin_token, client, admin_enabled=not args.disable_admin_api)
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
        listen = Listen(host=env.hostname or "0.0.0.0", port=env.port)
    return Served(app, listen, handover.websocket_drain_seconds or args.websocket_drain_seconds, sync,
                  source, given, report_ready=handover.report_ready and listen.uds is not None)


def build(args: argparse.Namespace) -> list[Served]:
    """Everything ``serve`` will run; raises ``BuildError``."""
    if args.handover:
        return [build_served(_read_handover(args), args, file_options(args, 1)[0])]
    files: list[Path] = [*args.environment, *(args.data or [])]
    if len(files) > 1 and args.uds:
        raise BuildError("--uds serves one file; several files need TCP, each on its own port", 2)
    if files.count(STDIN) > 1:
        raise BuildError("standard input (-) can be read once", 2)
    served = [build_served(_read_file(path), args, given, None if path == STDIN else path)
              for path, given in zip(files, file_options(args, len(files)), strict=True)]
    for index, one in enumerate(served):
        for other in served[:index]:
            if _overlap(one.listen, other.listen):
                raise BuildError(f"{other.source} and {one.source} would both listen on {one.listen.where}: give "
                                 "each its own --port", 2)
    return served


def _overlap(a: Listen, b: Listen) -> bool:
    """Two TCP addresses one of which would refuse to bind after the other."""
    if a.uds is not None or b.uds is not None or a.port != b.port or a.port == 0:
        return False
    wildcards = ("", "0.0.0.0", "::")
    return a.host == b.host or a.host in wildcards or b.host in wildcards
