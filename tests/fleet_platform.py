"""A `mockfleet up` that is one server of a fleet (its own server id, region, port and data directory)."""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.conftest import Platform


class FleetServer(Platform):
    """One `mockfleet up` of the fleet; its mocks are `<sub>.<server-id>.mockfleet.localhost`."""

    def __init__(self, data_dir: Path, server_id: str, region: str, registry: str, *flags: str) -> None:
        super().__init__(data_dir, ("--server-id", server_id, "--region", region, "--registry", registry, *flags))
        self.server_id = server_id

    def host(self, subdomain: str) -> str:
        return f"{subdomain}.{self.server_id}.mockfleet.localhost"

    def kill_hard(self) -> None:
        """The machine is lost: up, supervisor, edge and workers die at once, nothing signs off."""
        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                proc.kill()
            except psutil.Error:
                pass
        self.proc.wait(10)
        self.assert_no_workers_left()
