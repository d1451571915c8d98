"""Rule and template regexes end in bounded time whatever the pattern (RE2, bounded fallback)."""

from __future__ import annotations

import time

import pytest

from worker.json_schema import matches_schema
from worker.templating.regex_guard import MAX_SUBJECT, safe_regex

CATASTROPHIC = ["^((a+))+$", "a*a*a*a*a*a*b", "(a|a)*", "(a?){30}a{30}", "^(a+)+$", "(x+x+)+y", "^(\\w+\\s?)*$"]
SUBJECT = "a" * 100_000 + "!"


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_backtracking_shapes_run_on_re2_in_linear_time(pattern: str) -> None:
    compiled = safe_regex(pattern)
    assert compiled is not None and compiled.linear is not None
    started = time.perf_counter()
    compiled.search(SUBJECT)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("pattern,subject,expected", [
    ("^((a+))+$", "aaa", True),
    ("^((a+))+$", "aab", False),
    ("a*a*a*a*a*a*b", "aaab", True),
    ("(a?){30}a{30}", "a" * 30, True),
    ("(?<year>\\d{4})-(?<month>\\d{2})", "on 2024-05-01", True),  # JS named groups
    ("^abc$", "abc\n", False),  # JS: $ only at the very end (Python's re would match)
    ("\\d", "\u0661", False),  # JS: \d is ASCII digits only
    ("(a)\\1", "xaay", True),  # backreference: the fallback engine
    ("(?<c>a)\\k<c>", "xaay", True),  # JS named backreference
    ("foo(?=bar)", "foobar", True),  # lookahead
    ("(?<!x)bar", "xbar", False),  # lookbehind
])
def test_javascript_semantics(pattern: str, subject: str, expected: bool) -> None:
    compiled = safe_regex(pattern)
    assert compiled is not None and compiled.search(subject) is expected


def test_case_insensitive_and_invalid_patterns() -> None:
    compiled = safe_regex("HELLO", ignore_case=True)
    assert compiled is not None and compiled.search("say hello")
    assert safe_regex("(") is None and safe_regex("[") is None and safe_regex("a" * 1001) is None


def test_a_backtracking_fallback_pattern_gives_up_in_time() -> None:
    compiled = safe_regex("(x+x+)+y(?<=y)")  # lookbehind: not RE2
    assert compiled is not None and compiled.backtracking is not None
    started = time.perf_counter()
    assert not compiled.search("x" * 5000)
    assert time.perf_counter() - started < 1.0


def test_subjects_over_the_cap_never_match() -> None:
    compiled = safe_regex("a")
    assert compiled is not None and not compiled.search("a" * (MAX_SUBJECT + 1))


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_json_schema_patterns_are_guarded_too(pattern: str) -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}},
              "patternProperties": {pattern: {"type": "string"}}, "additionalProperties": False}
    started = time.perf_counter()
    matches_schema({"s": SUBJECT, SUBJECT: "x"}, schema)
    assert time.perf_counter() - started < 1.0


def test_json_schema_pattern_keywords_keep_their_meaning() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[a-z]+-\\d+$"}},
              "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}
    assert matches_schema({"id": "ab-12", "x-a": 1}, schema)
    assert not matches_schema({"id": "ab-12x"}, schema)
    assert not matches_schema({"x-a": "one"}, schema)
    assert not matches_schema({"other": 1}, schema)
    assert not matches_schema({}, {"type": "nonsense"})  # an invalid schema matches nothing
    assert matches_schema({"a": 1}, {"additionalProperties": {"type": "integer"}})
