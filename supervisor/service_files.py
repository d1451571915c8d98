"""The text of a systemd unit and of a Dockerfile for ``mockfleet up``: pure functions over values,
written to disk by ``install_command``."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

PRIVILEGED_PORT = 1024


@dataclass(frozen=True)
class ServiceSpec:
    python: str  # the interpreter of the installation (a venv's python), run as `python -m supervisor.cli up`
    data_dir: Path
    user: str = "mockfleet"
    https_port: int = 8443
    extra: list[str] = field(default_factory=list)  # further `mockfleet up` flags, passed as they are


def _up_command(python: str, data_dir: Path, https_port: int, extra: list[str]) -> list[str]:
    return [python, "-m", "supervisor.cli", "up", "--data-dir", str(data_dir), "--https-port", str(https_port), *extra]


def systemd_unit(spec: ServiceSpec) -> str:
    """A hardened unit: a dedicated user, a read-only system but for the data directory, no new
    privileges. ``KillMode=mixed``: SIGTERM goes to ``up`` alone, which stops the edge, then the
    supervisor and its workers in order; whatever is left gets SIGKILL after the timeout."""
    command = " ".join(shlex.quote(word) for word in _up_command(spec.python, spec.data_dir, spec.https_port,
                                                                 spec.extra))
    low_port = spec.https_port < PRIVILEGED_PORT or any(
        prev in ("--http-port",) and word.isdigit() and int(word) < PRIVILEGED_PORT
        for prev, word in zip(spec.extra, spec.extra[1:], strict=False))
    capabilities = ("AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
                    if low_port else "CapabilityBoundingSet=\n")
    installed_under_home = spec.python.startswith(("/home/", "/root/"))
    return f"""[Unit]
Description=mockfleet: Mockoon environments as hosted mock APIs
Documentation=https://mockoon.com
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={spec.user}
Group={spec.user}
ExecStart={command}
Restart=on-failure
RestartSec=2
KillMode=mixed
TimeoutStopSec=45
Environment=PYTHONUNBUFFERED=1
UMask=0077
LimitNOFILE=65536
{capabilities}NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={spec.data_dir}
ProtectHome={"read-only" if installed_under_home else "yes"}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""


def dockerfile(*, python_image: str = "python:3.11-slim", https_port: int = 8443, user: str = "mockfleet",
               extra: list[str] | None = None) -> str:
    """The platform from this source tree (the Dockerfile sits at its root): installed into a venv,
    run as an unprivileged user, its data in a volume. ``--bind 0.0.0.0`` so the published port
    reaches the edge."""
    command = _up_command("/opt/mockfleet/bin/python", Path("/data"), https_port, ["--bind", "0.0.0.0", *(extra or [])])
    exec_form = "[" + ", ".join(f'"{word}"' for word in command) + "]"
    return f"""# mockfleet: the whole platform (supervisor, edge, workers) in one container
# build: docker build -t mockfleet .    run: docker run -p {https_port}:{https_port} -v mockfleet-data:/data mockfleet
FROM {python_image}
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --home-dir /data --shell /usr/sbin/nologin {user} \\
    && python -m venv /opt/mockfleet && mkdir -p /data && chown {user}:{user} /data
COPY pyproject.toml README.md /src/
COPY schemas /src/schemas
COPY worker /src/worker
COPY supervisor /src/supervisor
COPY edge /src/edge
RUN /opt/mockfleet/bin/pip install /src
VOLUME /data
EXPOSE {https_port}
USER {user}
WORKDIR /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s CMD ["/opt/mockfleet/bin/python", "-c", "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/data/run/api.sock')"]
CMD {exec_form}
"""


DOCKERIGNORE = """.venv
.bench
.git
**/__pycache__
tests
"""
