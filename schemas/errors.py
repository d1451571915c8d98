"""The one exception type every schema failure raises, so callers catch one thing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .repair import Repair


class SchemaError(ValueError):
    """Invalid environment or message; ``path`` is a JSON path such as ``$.routes[3].statusCode``."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnsupportedSchemaVersion(SchemaError):
    """The environment was written by a newer Mockoon than any runtime understands."""

    def __init__(self, found: float, highest: int) -> None:
        self.found = found
        self.highest = highest
        super().__init__(
            "$.lastMigration",
            f"environment schema {found} is newer than the newest supported schema {highest}",
        )


class NeedsRepair(SchemaError):
    """Strict loading (``mockfleet validate``): the environment loads only after these repairs."""

    def __init__(self, repairs: list[Repair]) -> None:
        self.repairs = repairs
        first = repairs[0]
        more = f" (and {len(repairs) - 1} more)" if len(repairs) > 1 else ""
        super().__init__(first.path, f"{first.message}{more}")
