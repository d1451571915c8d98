"""A fork server ("zygote") for one runtime: import everything a worker needs once, freeze it
out of the garbage collector's reach (``gc.freeze``) so children keep the pages shared, then
fork one worker per request on a Unix control socket.

A forked child becomes exactly what a spawned ``--handover`` worker is: a session of its own,
the supervisor's rlimits, stdin the hand-over pipe and stdout/stderr its log (both passed with
SCM_RIGHTS), then ``serve_command.run`` with the arguments a spawn would have had (so the
sandbox is applied in the child, by the child, as before). Nothing tenant-specific ever
reaches the fork server itself: it reads only ``ForkRequest`` (arguments and limits).
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import os
import resource
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

from schemas.fork_server import MAX_MESSAGE, ForkAnswer, Forked, ForkRefused, ForkRequest

from .pool_filler import fill_partial_pools

WARM_MODULES = ("hypercorn.asyncio", "hypercorn.config", "uvloop", "schemas.environment_source", "schemas.handover",
                "worker.app", "worker.heartbeat", "worker.http1_compat", "worker.http1_only", "worker.outbound_client",
                "worker.responder", "worker.sandbox", "worker.serve_build", "worker.serve_loop", "worker.snapshot",
                "worker.state_sync", "worker.websocket_server", "worker.ws_compat", "pyseccomp")
_decoder = msgspec.json.Decoder(ForkRequest)


# Rounds of the warm-up: CPython 3.11 rewrites a function's inline caches while it specialises
# (the first few dozen calls), so code a child runs cold copies the pages of its code objects.
WARM_ROUNDS = 64


def warm(locale: str) -> None:
    """What a ``--handover`` spare imports before it reads its stdin, plus the event loop, plus
    what every worker would otherwise build for itself after the fork (each costs the child both
    start time and unshared pages): the TLS client contexts with the system's CA certificates,
    the HTTP/1 and WebSocket patches, and a worker's path from its hand-over to its answers."""
    for module in WARM_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
            pass
    from .templating.faker import faker_context

    faker_context(locale, None)
    from . import http1_compat, ws_compat
    from .outbound_client import tls_contexts

    tls_contexts()
    from .sandbox import prepare

    prepare()
    http1_compat.install()
    ws_compat.install()
    with tempfile.TemporaryDirectory(prefix="mockfleet-warm-") as tmp:
        _serve_like_a_child(locale, Path(tmp))


def _serve_like_a_child(locale: str, tmp: Path) -> None:
    """Run what a child runs, from its arguments and hand-over to answering requests, WARM_ROUNDS
    times on a throwaway socket: the caches this fills (``re``'s, werkzeug's and Quart's lazy state,
    the templating tables, hypercorn's loggers) are then made once, and the code is specialised."""
    from schemas import environment_from_obj
    from schemas.handover import WorkerHandover, decode_handover, encode_handover
    from schemas.heartbeat import SIZE
    from schemas.worker_state import StateLink

    from .heartbeat import Heartbeat
    from .serve_build import build_served, file_options

    response = {"uuid": "r", "body": "{{urlParam 'id'}}", "statusCode": 200, "default": True, "headers": [
        {"key": "Content-Type", "value": "application/json"}]}
    route = {"uuid": "u", "type": "http", "method": "get", "endpoint": "warm/:id", "responses": [response]}
    env, _ = environment_from_obj({"uuid": "w", "lastMigration": 33, "name": "warm", "routes": [route],
                                   "rootChildren": [{"type": "route", "uuid": "u"}]})
    payload = encode_handover(WorkerHandover(
        environment=env, admin_token="warm", cloud=True, public_base_url="https://warm.invalid",
        state_link=StateLink(socket=str(tmp / "state.sock"), deployment="w", epoch=1)))
    socket_path, beat = tmp / "warm.sock", tmp / "warm.beat"
    beat.write_bytes(bytes(SIZE))
    argv = ["serve", "-", "--uds", str(socket_path), "--handover", "--heartbeat", str(beat), "--sandbox",
            "--sandbox-uid", "100000", "--faker-locale", locale]
    for _ in range(WARM_ROUNDS):
        args = _parser().parse_args(argv)
        served = build_served(decode_handover(payload), args, file_options(args, 1)[0])
    heartbeat = Heartbeat(beat)
    _serve_requests(heartbeat.watch(served.app), socket_path)


def _serve_requests(app: object, path: Path) -> None:
    """Hypercorn on the event loop as a child configures it, answering WARM_ROUNDS requests."""
    import asyncio

    from hypercorn.asyncio import serve

    from .serve_loop import hypercorn_config

    run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    try:
        import uvloop
        run = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        pass
    config = hypercorn_config(f"unix:{path}")

    async def requests() -> None:
        while not path.exists():
            await asyncio.sleep(0.001)
        for _ in range(WARM_ROUNDS):
            reader, writer = await asyncio.open_unix_connection(str(path))
            writer.write(b"GET /warm/1 HTTP/1.1\r\nHost: warm\r\nConnection: close\r\n\r\n")
            await reader.read()
            writer.close()

    run(serve(app, config, shutdown_trigger=requests))  # type: ignore[arg-type]


def serve_forks(control: Path, locale: str) -> int:
    warm(locale)
    from .sandbox import share_network

    network = share_network()
    print("fork server: children join one empty network namespace" if network is None
          else f"fork server: each child makes its own network namespace ({network})", flush=True)
    gc.collect()
    fill_partial_pools()
    gc.freeze()  # what is imported now stays in pages the children share
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    binding = control.with_name(control.name + ".new")  # renamed once listening: its name means ready
    binding.unlink(missing_ok=True)
    old = os.umask(0o077)
    listener.bind(str(binding))
    os.umask(old)
    listener.listen(64)
    os.replace(binding, control)
    print(f"mockfleet fork server ready on {control} (pid {os.getpid()})", flush=True)
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 2)
            except OSError:
                continue
            answer = _fork(listener, conn, data, fds)
            for fd in fds:
                os.close(fd)
            try:
                conn.sendall(msgspec.json.encode(answer))
            except OSError:
                pass


def _fork(listener: socket.socket, conn: socket.socket, data: bytes, fds: list[int]) -> ForkAnswer:
    try:
        request = _decoder.decode(data)
    except msgspec.ValidationError as error:
        return ForkRefused(reason=f"invalid fork request: {error}")
    except msgspec.DecodeError as error:
        return ForkRefused(reason=f"invalid fork request: {error}")
    if len(fds) != 2:
        return ForkRefused(reason=f"a fork request carries 2 descriptors (stdin, log), not {len(fds)}")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Forked(pid=pid)
    code = 1
    try:
        listener.close()
        conn.close()
        code = _become_worker(request, fds[0], fds[1])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _become_worker(request: ForkRequest, stdin: int, log: int) -> int:
    os.setsid()
    os.dup2(stdin, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(stdin)
    os.close(log)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_AS, (request.address_space, request.address_space))
    resource.setrlimit(resource.RLIMIT_NOFILE, (request.open_files, request.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (request.file_size, request.file_size))
    os.umask(0o077)
    # the frozen objects stay frozen: a collection that walked them would copy every page they share
    _reseed()
    args = _parser().parse_args(["serve", *request.argv])
    if args.fork_server:
        raise SystemExit("a forked worker cannot be a fork server")
    return int(args.func(args))


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """Built before the fork (``warm``): a child only parses."""
    from .serve_command import add_parser

    parser = argparse.ArgumentParser(prog="mockfleet-worker")
    add_parser(parser.add_subparsers())
    return parser


def _reseed() -> None:
    """Faker draws from a module-level Random the fork would otherwise give every child alike."""
    try:
        from faker.generator import random as faker_random
    except ImportError:  # pragma: no cover
        return
    faker_random.seed()
