"""Where the platform keeps its files and how it names its hosts, derived from a few flags.

The places the edge shares (sockets, host names, certificates) are ``schemas.platform_places``;
this adds what only the supervisor reads (registry, worker limits, outbound rules).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from schemas.platform_places import PlatformPlaces, default_data_dir

__all__ = ["Settings", "default_data_dir"]


@dataclass
class Settings(PlatformPlaces):
    registry: str = ""  # sqlite:PATH or postgresql://… (supervisor/registry_db.py); empty: the data dir's file
    # a fleet (supervisor/fleet.py): deployments this server takes, the region a deploy without one goes
    # to ('': this server's), seconds a silent server waits before its deployments move (0: never)
    capacity: int = 1000
    default_region: str = ""
    failover_after: float = 0.0
    # worker limits
    worker_address_space: int = 2 * 1024**3
    worker_open_files: int = 256
    worker_rss_limit: int = 384 * 1024**2
    worker_log_bytes: int = 1024**2  # a worker's log is rotated past this (one older part is kept)
    worker_file_size: int = 16 * 1024**2  # RLIMIT_FSIZE: no file a worker writes grows past this
    worker_stall_seconds: float = 60.0  # a worker whose event loop has not turned this long is killed
    worker_ready_timeout: float = 20.0
    worker_drain_seconds: float = 2.0
    websocket_drain_seconds: float = 30.0  # a retired revision keeps its open WebSockets this long
    websocket_max_message_bytes: int = 1024 * 1024  # larger messages close the connection (1009)
    websocket_messages_per_second: int = 100  # a client sending faster is closed (1008)
    idle_stop_seconds: float = 0.0  # 0: never stop idle workers
    fork_server: bool = True  # fork workers from a warm fork server per runtime (supervisor/fork_servers.py)
    metrics_port: int = 0  # the supervisor's Prometheus metrics on 127.0.0.1 (supervisor/metrics_server.py); 0: off
    # outbound (proxy mode, callbacks): rules given on the command line replace the registry's
    # (None: keep the registry's); the limits apply to every deployment
    outbound_allow: list[str] | None = None
    outbound_deny: list[str] | None = None
    outbound_resolve: list[str] | None = None
    outbound_connect_timeout: float = 5.0
    outbound_timeout: float = 30.0
    outbound_max_concurrent: int = 16
    outbound_max_response_bytes: int = 16 * 1024 * 1024

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite3"

    @property
    def registry_target(self) -> str:
        return self.registry or f"sqlite:{self.registry_path}"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def outbound_broker_socket(self) -> Path:
        """Workers without network get their outbound connections here (supervisor/outbound_broker.py).

        Not in the run directory: workers with a uid of their own could not pass its 0700 (nor the
        data directory's, nor its parents'). A directory of its own under /tmp, 0711, checked to be
        ours (``outbound_broker.prepare_directory``); the broker checks each caller's uid."""
        tag = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"mockfleet-broker-{os.getuid()}-{tag}" / "outbound.sock"

    def prepare(self) -> None:
        for directory in (self.data_dir, self.logs_dir, self.run_dir):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
