"""Where the platform keeps its files and how it names its hosts, derived from a few flags."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# sockaddr_un.sun_path is 108 bytes; leave room for the socket file names.
_MAX_SOCKET_DIR = 80


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mockfleet"


@dataclass
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    domain: str = "mockfleet.localhost"
    server_id: str = "local"
    region: str = "local"
    https_port: int = 8443
    registry: str = ""  # sqlite:PATH or postgresql://… (supervisor/registry_db.py); empty: the data dir's file
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
    fork_server: bool = False  # fork workers from a warm fork server per runtime (supervisor/fork_servers.py)
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

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        self.domain = self.domain.lower().strip(".")
        self.server_id = self.server_id.lower()

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
    def run_dir(self) -> Path:
        """Sockets live here (mode 0700). A short stable path under /tmp when the data dir is too deep."""
        candidate = self.data_dir / "run"
        if len(str(candidate)) <= _MAX_SOCKET_DIR:
            return candidate
        tag = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"mockfleet-{os.getuid()}-{tag}"

    @property
    def control_socket(self) -> Path:
        return self.run_dir / "control.sock"

    @property
    def state_socket(self) -> Path:
        """Workers push state snapshots here (supervisor/state_server.py)."""
        return self.run_dir / "state.sock"

    @property
    def api_socket(self) -> Path:
        return self.run_dir / "api.sock"

    @property
    def instances_host_suffix(self) -> str:
        return f".{self.server_id}.{self.domain}"

    @property
    def api_host(self) -> str:
        return f"api.{self.domain}"

    def instance_url(self, subdomain: str) -> str:
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{subdomain}{self.instances_host_suffix}{port}"

    @property
    def api_url(self) -> str:
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{self.api_host}{port}"

    def prepare(self) -> None:
        for directory in (self.data_dir, self.logs_dir, self.run_dir):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
