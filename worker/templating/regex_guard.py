"""Regular expressions from rules and templates, matched in time linear in the subject.

Python's ``re`` backtracks and has no timeout: ``^((a+))+$``, ``(a|a)*`` or ``(a?){30}a{30}``
against a long subject hang a worker, and no pattern screening catches every such shape. So
patterns are compiled with RE2 (``google-re2``), which cannot backtrack; only a pattern that
needs what RE2 lacks (backreferences, lookaround) goes to the ``regex`` package, under a
timeout per search. Subjects are capped in length either way.

Patterns are JavaScript's, as Mockoon evaluates ``new RegExp(value)``: named groups
``(?<name>…)`` are rewritten to ``(?P<name>…)``. RE2's ``$``, ``\\d`` and ``\\w`` are closer
to JavaScript's than ``re``'s (``$`` only at the end, ASCII digits and word characters).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2
import regex

log = logging.getLogger("mockfleet.worker")

MAX_PATTERN = 1000
MAX_SUBJECT = 1_000_000  # characters; a longer subject never matches
FALLBACK_TIMEOUT = 0.05  # seconds per search with a backtracking pattern
# what RE2 refuses and the fallback may serve: \1-style and named backreferences, lookaround
_NEEDS_BACKTRACKING = re.compile(r"\\[1-9]|\\k<|\(\?<?[=!]|\(\?P=")
_JS_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_]\w*)>")


def _js_to_python(pattern: str) -> str:
    # JS named groups (?<name>...) are Python (?P<name>...), and JS backreferences \k<name> are (?P=name)
    pattern = _JS_NAMED_GROUP.sub(r"(?P<\1>", pattern)
    return re.sub(r"\\k<([A-Za-z_]\w*)>", r"(?P=\1)", pattern)


@dataclass(frozen=True, slots=True)
class SafePattern:
    """A compiled pattern whose ``search`` ends in bounded time: RE2's, or ``regex``'s with a timeout."""

    linear: re2._Regexp | None
    backtracking: regex.Pattern[str] | None
    source: str

    def search(self, subject: str) -> bool:
        """Whether the pattern occurs in ``subject``; False for a subject over ``MAX_SUBJECT``
        or a backtracking search that runs out of time (logged)."""
        if len(subject) > MAX_SUBJECT:
            return False
        if self.linear is not None:
            return self.linear.search(subject) is not None
        assert self.backtracking is not None
        try:
            return self.backtracking.search(subject, timeout=FALLBACK_TIMEOUT) is not None
        except TimeoutError:
            log.warning("regex %r gave up after %.0f ms on a %d-character subject: no match",
                        self.source[:100], FALLBACK_TIMEOUT * 1000, len(subject))
            return False


def _re2_options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    return options


@lru_cache(maxsize=1024)
def safe_regex(pattern: str, ignore_case: bool = False) -> SafePattern | None:
    """Compile a JS-style pattern, or None when it is invalid (JavaScript would throw; a rule then
    never matches)."""
    if len(pattern) > MAX_PATTERN:
        return None
    translated = _js_to_python(pattern)
    try:
        return SafePattern(re2.compile(translated, _re2_options(ignore_case)), None, pattern)
    except re2.error:
        if _NEEDS_BACKTRACKING.search(translated) is None:
            return None
    try:
        return SafePattern(None, regex.compile(translated, regex.IGNORECASE if ignore_case else 0), pattern)
    except regex.error:
        return None


class _TimedPattern:
    """A ``regex`` pattern whose every method runs under the fallback timeout (TimeoutError past it)."""

    __slots__ = ("_pattern",)

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self._pattern = pattern

    def search(self, subject: str, pos: int = 0) -> regex.Match[str] | None:
        return self._pattern.search(subject, pos, timeout=FALLBACK_TIMEOUT)

    def match(self, subject: str, pos: int = 0) -> regex.Match[str] | None:
        return self._pattern.match(subject, pos, timeout=FALLBACK_TIMEOUT)

    def fullmatch(self, subject: str, pos: int = 0) -> regex.Match[str] | None:
        return self._pattern.fullmatch(subject, pos, timeout=FALLBACK_TIMEOUT)

    def finditer(self, subject: str, pos: int = 0) -> Any:
        return self._pattern.finditer(subject, pos, timeout=FALLBACK_TIMEOUT)

    def split(self, subject: str, maxsplit: int = 0) -> list[Any]:
        return self._pattern.split(subject, maxsplit, timeout=FALLBACK_TIMEOUT)


@lru_cache(maxsize=1024)
def bounded_pattern(pattern: str, ignore_case: bool = False) -> Any:
    """A compiled pattern with ``re``'s methods (match objects and all), bounded like
    ``safe_regex``: RE2's, or ``regex``'s under a timeout per call; None when invalid."""
    found = safe_regex(pattern, ignore_case)
    if found is None:
        return None
    if found.linear is not None:
        return found.linear
    assert found.backtracking is not None
    return _TimedPattern(found.backtracking)
