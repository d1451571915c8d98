"""The one exception type every schema failure raises, so callers catch one thing."""

from __future__ import annotations


class SchemaError(ValueError):
    """Invalid environment or message; ``path`` is a JSON path such as ``$.routes[3].statusCode``."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnsupportedSchemaVersion(SchemaError):
    """The environment was written by a newer Mockoon than any runtime understands."""

    def __init__(self, found: int, highest: int) -> None:
        self.found = found
        self.highest = highest
        super().__init__(
            "$.lastMigration",
            f"environment schema {found} is newer than the newest supported schema {highest}",
        )
