"""The open-files limit the edge needs for the connections it admits.

A proxied connection holds two descriptors (the client's and the worker's), and the edge has a few
of its own. Under a soft limit of 1,024, a common default, ``accept`` fails with EMFILE at about 500
connections while ``--max-connections`` admits 10,000; the edge raises its soft limit to its hard one
and, when even that is short, admits only what it can hold and says so. The plan is a pure function;
``raise_open_files`` is the shell around it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

RESERVED = 256  # listeners, the control socket, the access log, certificates, the usage ledger, pooled upstreams
PER_CONNECTION = 2


@dataclass(frozen=True)
class OpenFiles:
    soft: int  # the soft limit to set
    max_connections: int  # the connections the edge can hold under it
    warning: str | None = None


def needed(max_connections: int) -> int:
    return PER_CONNECTION * max_connections + RESERVED


def plan(soft: int, hard: int | None, max_connections: int) -> OpenFiles:
    """``hard`` None: unlimited (the soft limit then goes to what the connections need, since some
    kernels refuse an infinite soft limit)."""
    want = needed(max_connections)
    target = max(soft, want if hard is None else hard)
    return _fit(target, max_connections)


def _fit(soft: int, max_connections: int) -> OpenFiles:
    holds = max(1, (soft - RESERVED) // PER_CONNECTION)
    if holds >= max_connections:
        return OpenFiles(soft, max_connections)
    return OpenFiles(soft, holds, f"the open-files limit ({soft}) holds {holds} connections, not the "
                                  f"{max_connections} of --max-connections: the edge admits {holds}; raise the "
                                  f"hard limit (ulimit -Hn, systemd's LimitNOFILE=) to {needed(max_connections)}")


def raise_open_files(max_connections: int) -> OpenFiles:
    """Raise the soft limit as ``plan`` says; what it is now and the connections it holds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = plan(soft, None if hard == resource.RLIM_INFINITY else hard, max_connections)
    if wanted.soft != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted.soft, hard))
        except (ValueError, OSError):  # refused (e.g. past fs.nr_open): live with the one we have
            return _fit(soft, max_connections)
    return wanted
