"""worker.json_schema against answers recorded from Ajv 8.20.0 + ajv-formats 3.0.1 (node).

data/ajv_expectations.json holds [schema, value, Ajv's answer] triples: formats, patterns as
u-flag RegExps, strict-mode refusals and number semantics.  They were produced by
tests/worker/ajv_oracle.js, which test_json_schema_differential.py runs live where node is present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from worker.js_regex import MAX_SUBJECT, JsRegexError, compile_js_pattern, is_valid_js_regex
from worker.json_schema import matches_schema, refusal

EXPECTATIONS: dict[str, list[list[Any]]] = json.loads(
    (Path(__file__).parent / "data" / "ajv_expectations.json").read_text(encoding="utf-8"))


def _cases(group: str) -> list[Any]:
    return [pytest.param(s, v, r, id=f"{group}-{i}") for i, (s, v, r) in enumerate(EXPECTATIONS[group])]


@pytest.mark.parametrize(("schema", "value", "ajv"), _cases("formats"))
def test_formats_answer_as_ajv_formats(schema: Any, value: Any, ajv: bool) -> None:
    assert matches_schema(value, schema) is ajv


@pytest.mark.parametrize(("schema", "value", "ajv"), _cases("patterns"))
def test_patterns_are_javascript_regexps(schema: Any, value: Any, ajv: bool) -> None:
    assert matches_schema(value, schema) is ajv


@pytest.mark.parametrize(("schema", "value", "ajv"), _cases("schemas"))
def test_strict_mode_and_keywords_answer_as_ajv(schema: Any, value: Any, ajv: bool) -> None:
    assert matches_schema(value, schema) is ajv


@pytest.mark.parametrize(("schema", "value", "ajv"), _cases("numbers"))
def test_numbers_and_equality_are_javascripts(schema: Any, value: Any, ajv: bool) -> None:
    assert matches_schema(value, schema) is ajv


def test_the_query_from_the_report_no_longer_matches() -> None:
    schema = {"type": "object", "required": ["email"],
              "properties": {"email": {"type": "string", "format": "email"}}}
    assert matches_schema({"email": "nope"}, schema) is False
    assert matches_schema({"email": "a@b.co"}, schema) is True


@pytest.mark.parametrize("schema", [
    {"foo": 1},
    {"format": "nope"},
    {"$schema": "http://json-schema.org/draft-04/schema#"},
    {"pattern": "("},
    {"properties": {"a": {"pattern": "\\Z"}}},
    {"$ref": "#/definitions/missing"},
    {"$ref": "http://example.com/schema"},
    {"if": {"type": "string"}},
    {"nullable": True},
    {"minLength": -1},
])
def test_what_ajv_refuses_to_compile_is_refused(schema: Any) -> None:
    assert refusal(schema) is not None
    assert matches_schema("anything", schema) is False


@pytest.mark.parametrize("schema", [
    {"definitions": {"unused": {"foo": 1}}},  # never compiled
    {"anyOf": [True, {"format": "nope"}]},  # Ajv skips an anyOf with an always-valid branch
    {"patternProperties": {"(": {}}},  # always-valid entries: the pattern is never compiled
    {"$schema": "http://json-schema.org/draft-07/schema#"},
])
def test_what_ajv_never_compiles_is_not_checked(schema: Any) -> None:
    assert refusal(schema) is None


def test_async_schemas_match_as_ajvs_promise_does() -> None:
    assert matches_schema(1, {"$async": True, "type": "string"}) is True


def test_regex_syntax_without_the_u_flag_is_the_web_grammar() -> None:
    assert is_valid_js_regex("\\Z]{", unicode=False)
    assert not is_valid_js_regex("\\Z]{", unicode=True)
    with pytest.raises(JsRegexError):
        compile_js_pattern("a{2,1}")


def test_long_subjects_do_not_match_and_backtracking_is_bounded() -> None:
    assert matches_schema("a" * 10, {"pattern": "^a+$"})
    assert not matches_schema("a" * (MAX_SUBJECT + 1), {"pattern": "^a+$"})
    # RE2 cannot take the backreference, so the regex package runs it with a timeout
    evil = {"pattern": "^(a|a)*\\1b$"}
    assert matches_schema("a" * 5000 + "c", evil) is False


def test_compiled_schemas_are_cached_by_their_json_text() -> None:
    from worker.json_schema import _compile

    _compile.cache_clear()
    schema = {"type": "string", "minLength": 1}
    for _ in range(3):
        matches_schema("x", dict(schema))
    assert _compile.cache_info().hits == 2


@pytest.mark.parametrize(("schema", "value", "ajv"), _cases("format_limits"))
def test_format_limits_compare_as_ajv_formats(schema: Any, value: Any, ajv: bool) -> None:
    assert matches_schema(value, schema) is ajv
