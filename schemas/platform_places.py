"""Where a platform keeps its files and how it names its hosts: what the edge and the supervisor
(two processes started by ``mockfleet up``) must agree on, derived from the same few flags."""

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
class PlatformPlaces:
    data_dir: Path = field(default_factory=default_data_dir)
    domain: str = "mockfleet.localhost"
    server_id: str = "local"
    region: str = "local"
    https_port: int = 8443

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        self.domain = self.domain.lower().strip(".")
        self.server_id = self.server_id.lower()

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
        """The edge asks the supervisor about hosts here."""
        return self.run_dir / "control.sock"

    @property
    def state_socket(self) -> Path:
        """Workers push state snapshots here (supervisor/state_server.py)."""
        return self.run_dir / "state.sock"

    @property
    def api_socket(self) -> Path:
        return self.run_dir / "api.sock"

    @property
    def cert_dir(self) -> Path:
        """The local CA and the certificates made from it (``schemas.tls_files.local_tls_files``)."""
        return self.data_dir / "certs"

    @property
    def usage_ledger(self) -> Path:
        """The edge's memory-mapped count of forwarded requests (edge/usage_ledger.py)."""
        return self.data_dir / "edge" / "usage.ledger"

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
