"""``serve --watch``: poll each served file and swap a changed one in as a live update does.

mockoon-cli restarts its server on a change; here the new version replaces the old one between
requests, so requests in flight finish on the version they started with and no connection is
dropped. A version that cannot be served (a half-written save, invalid JSON) is reported and the
previous one kept. The listening address stays: a changed port or hostname is reported, not applied."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from schemas import SchemaError

from .serve_build import Served, build_server, load_environment

FileVersion = tuple[int, int] | None  # (mtime in ns, size); None while the file cannot be read


def file_version(path: Path) -> FileVersion:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def changed(seen: FileVersion, now: FileVersion) -> bool:
    """A readable file whose version differs from the one served (a file gone for a moment is not a change)."""
    return now is not None and now != seen


def reload(one: Served, args: argparse.Namespace) -> str:
    """Read ``one.source`` again and serve it from now on; the line to print.

    Raises ``OSError`` or ``SchemaError`` when the new version cannot be served."""
    assert one.source is not None
    server = build_server(load_environment(one.source), args, one.options)
    env = server.env
    moved = ""
    if one.listen.uds is None and (env.port, env.hostname or "0.0.0.0") != (one.listen.port, one.listen.host):
        moved = f" (still on {one.listen.where}: a new port or hostname needs a restart)"
        env.port = one.listen.port  # baseUrl names the port actually served
    current = one.app.holder["server"]
    server.state.logs.extend(current.state.logs)  # mockoon-cli's restart keeps the transaction logs too
    one.app.holder["server"] = server
    if one.app.admin.on_update is not None:
        one.app.admin.on_update()  # WebSocket routes follow, as after an admin API live update
    return f"reloaded {env.name!r} from {one.source} ({len(env.routes)} routes){moved}"


async def watch(one: Served, args: argparse.Namespace) -> None:
    """Poll ``one.source`` every ``--polling-interval`` ms until cancelled."""
    if one.source is None:
        return
    seen = file_version(one.source)
    while True:
        await asyncio.sleep(args.polling_interval / 1000)
        now = file_version(one.source)
        if not changed(seen, now):
            continue
        seen = now
        try:
            print(reload(one, args), flush=True)
        except (OSError, SchemaError) as error:
            print(f"warning: {one.source} changed but cannot be served, keeping the previous version: {error}",
                  file=sys.stderr, flush=True)
