"""Every helper Mockoon registers, merged into one table (later families win, as in Mockoon)."""

from __future__ import annotations

from typing import Any

from . import builtins, context, dates, fakes, general

ALL_HELPERS: dict[str, Any] = {
    **builtins.HELPERS,
    **fakes.HELPERS,
    **general.HELPERS,
    **dates.HELPERS,
    **context.HELPERS,
}
