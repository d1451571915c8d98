"""Regular expressions from templates and rules, compiled with a guard against catastrophic backtracking.

Python's ``re`` has no timeout, so patterns with nested unbounded quantifiers (the classic
``(a+)+`` shape) are refused, and subjects are capped in length.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_PATTERN = 1000
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)[+*{]")


def _js_to_python(pattern: str) -> str:
    # JS named groups (?<name>...) are Python (?P<name>...)
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


@lru_cache(maxsize=1024)
def safe_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str] | None:
    """Compile a JS-style pattern, or None when it is invalid or may backtrack catastrophically."""
    if len(pattern) > MAX_PATTERN or _NESTED_QUANTIFIER.search(pattern):
        return None
    try:
        return re.compile(_js_to_python(pattern), re.I if ignore_case else 0)
    except re.error:
        return None
