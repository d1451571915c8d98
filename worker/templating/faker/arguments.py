"""How faker-js methods read their arguments (positional, an options object, or the hash) and
the English data the generators draw from."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...jsvalues import UNDEFINED, is_nan, to_number

if TYPE_CHECKING:
    from .context import FakerContext

Gen = Callable[["FakerContext", list[Any], dict[str, Any]], Any]


def opt(args: list[Any], hash_: dict[str, Any], name: str, index: int = 0, default: Any = UNDEFINED) -> Any:
    if name in hash_:
        return hash_[name]
    if args and isinstance(args[0], dict) and name in args[0]:
        return args[0][name]
    if len(args) > index and not isinstance(args[index], dict):
        return args[index]
    return default


def num(value: Any, default: float) -> float:
    number = to_number(value) if value is not UNDEFINED else default
    return default if is_nan(number) else number




@cache
def data() -> dict[str, Any]:
    """faker-js' English word lists and patterns (MIT licence), extracted once into en_data.json."""
    return json.loads((Path(__file__).with_name("en_data.json")).read_text())
