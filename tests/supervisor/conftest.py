"""The registry's tests run on both backends: a SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401  (the session's server)


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_target(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where a fresh registry lives, once per backend (``Registry(registry_target)`` opens it)."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'r.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
