"""A throwaway PostgreSQL server for tests: initdb in a temp dir, listening on a Unix socket only.

PostgreSQL refuses to run as root, so as root the server runs as ``nobody`` in a directory it
owns. Nothing listens on TCP. Callers skip with ``PostgresUnavailable``'s reason where the
server binaries are missing (``.ci/run`` installs Debian's ``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERUSER = "mockfleet"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "pg_ctl").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _binaries()
        if self.bin is None:
            raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                                      "install Debian's postgresql package (.ci/run does, as root)")
        self.root = Path(tempfile.mkdtemp(prefix="mfpg-"))
        self.data = self.root / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError as error:
                raise PostgresUnavailable("running as root and there is no 'nobody' user to run PostgreSQL as") from error
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self._as = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--"]
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        self.resume()

    def resume(self) -> None:
        """Start the server (again, after ``pause``: the same data)."""
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")

    def pause(self) -> None:
        """Stop the server, keeping its data (the registry is down until ``resume``)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        assert self.bin is not None
        result = subprocess.run([*self._as, str(self.bin / program), *args], cwd=self.root, capture_output=True,
                                text=True, timeout=120, env={**os.environ, "LC_ALL": "C"})
        if result.returncode != 0:
            log = self.root / "server.log"
            detail = log.read_text()[-2000:] if log.exists() else ""
            shutil.rmtree(self.root, ignore_errors=True)
            raise PostgresUnavailable(f"{program} failed ({result.returncode}): {result.stderr.strip()} {detail}")

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql:///{database}?host={self.root}&user={SUPERUSER}"

    def create_database(self) -> str:
        """A new empty database; returns its URI."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.uri(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return self.uri(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except PostgresUnavailable:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session (import this fixture where it is needed)."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as error:
        pytest.skip(f"no PostgreSQL server for these tests: {error}")
    yield server
    server.stop()
