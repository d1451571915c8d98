"""JavaScript's integer conversions, for helpers that take counts, positions and lengths.

Python's ``int()`` raises on NaN and infinities and its slices take any size; JavaScript clamps
(``ToIntegerOrInfinity``, ``ToLength``, relative indices) or throws a RangeError with its own
words. A helper that converted with ``int()`` showed Python's text ("cannot convert float infinity
to integer") where Mockoon renders a value or its JavaScript error; these keep JavaScript's.
"""

from __future__ import annotations

import math
from typing import Any

from ..jsvalues import UNDEFINED, to_number
from .errors import TemplateError

MAX_STRING_LENGTH = (1 << 29) - 24  # V8's on 64-bit: longer strings are a RangeError
MAX_ARRAY_LENGTH = (1 << 32) - 1
MAX_SAFE_INTEGER = (1 << 53) - 1


def to_integer_or_infinity(value: Any) -> float | int:
    """``ToIntegerOrInfinity(ToNumber(value))``: NaN is 0, infinities stay, the rest is truncated."""
    number = to_number(value)
    if number != number:
        return 0
    if math.isinf(number):
        return number
    return int(number)


def relative_index(value: Any, length: int, default: int) -> int:
    """A start or end of ``Array.prototype.slice`` (and kin): negative counts from the end, clamped."""
    if value is UNDEFINED:
        return default
    position = to_integer_or_infinity(value)
    if position < 0:
        return 0 if position == -math.inf else max(length + int(position), 0)
    return length if position == math.inf else min(int(position), length)


def to_length(value: Any) -> int:
    """``ToLength``: what ``Array.from({length})`` and ``String.prototype.padStart`` take."""
    number = to_integer_or_infinity(value)
    return 0 if number <= 0 else int(min(number, MAX_SAFE_INTEGER))


def check_string_length(length: int) -> None:
    if length > MAX_STRING_LENGTH:
        raise TemplateError("Invalid string length")


def check_array_length(length: int) -> None:
    if length > MAX_ARRAY_LENGTH:
        raise TemplateError("Invalid array length")


def js_random_int(random: Any, low: Any, high: Any) -> float | int:
    """``RandomInt`` of @mockoon/commons: ceil of the lower, floor of the higher bound, then a draw;
    NaN when a bound is not a number, an infinity when a bound is one."""
    a, b = to_number(low), to_number(high)
    if a != a or b != b:
        return math.nan
    lower, upper = min(a, b), max(a, b)
    lower = lower if math.isinf(lower) else math.ceil(lower)
    upper = upper if math.isinf(upper) else math.floor(upper)
    if math.isinf(lower) or math.isinf(upper):
        value = lower + random.random() * (upper - lower + 1)  # inf, -inf or NaN, as in JavaScript
        return value if value != value or math.isinf(value) else math.floor(value)
    if upper < lower:  # both bounds within one integer gap (1.5 and 1.5): the draw spans nothing
        return int(lower)
    return int(random.randint(int(lower), int(upper)))
