"""Every helper Mockoon registers, merged into one table (later families win, as in Mockoon)."""

from __future__ import annotations

from ..faker import helpers as fakes
from ..runtime import HelperSpec
from . import builtins, context, dates, general

ALL_HELPERS: dict[str, HelperSpec] = {
    **builtins.HELPERS,
    **fakes.HELPERS,
    **general.HELPERS,
    **dates.HELPERS,
    **context.HELPERS,
}
