"""Our JSONPath evaluator against what jsonpath-plus 10.4 (as Mockoon 9.9 calls it) answered.

Every expectation below was produced by running ``JSONPath({json, path, wrap: false})`` and
Mockoon's ``isSafeJSONPath`` in node, then written down here, so these tests need no node.
``tests/worker/test_jsonpath_differential.py`` compares against node directly where it exists.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from worker import jsonpath
from worker.jsonpath import JSONPathError, evaluate, is_safe_json_path, path_locations, query
from worker.jsvalues import UNDEFINED
from worker.templating import TemplateError
from worker.templating.helpers.paths import get_value_from_path, json_path

# (json, path, isSafeJSONPath(path), result of JSONPath({json, path, wrap: false}))
REFERENCE: list[tuple[Any, str, bool, tuple[Any, ...]]] = [
    ({'a': 'v1', 'b': ['x']}, '$.[?(@property.match(/a/))]', True, ('error', 'jsonPath: func is not a function: @property.match(/a/)')),
    ({'a': 'v1', 'b': 'v2'}, '$.[?(@property.match(/a/))]', True, ('value', ['v1'])),
    ({'a': {'attribute.with.dot': {'name': 'n'}}}, '$.a.[attribute.with.dot].name', True, ('value', 'n')),
    ({'a': {'attribute.with.dot': {'name': 'n'}}}, "$.a['attribute.with.dot'].name", True, ('value', 'n')),
    ({'a': {'attribute.with.dot': {'name': 'n'}}}, '$.a["attribute.with.dot"].name', True, ('value', 'n')),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[0].title', True, ('value', 'A')),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[*].title', True, ('value', ['A', 'B'])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..title', True, ('value', ['A', 'B'])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..book[?(@.price<10)].title', True, ('value', ['A'])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, "$..book[?(@.price == '8')].title", True, ('value', ['A'])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, "$..book[?(@.price === '8')].title", True, ('undefined',)),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..book[?(@.title.match(/b/i))].price', True, ('value', [12])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, "$..book[?(@.title.startsWith('A'))].price", False, ('value', [8])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, "$..book[?(@.tags.includes('x'))].price", False, ('value', [8])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..book[?(@.price > 5 && @.tags.length)].title', True, ('value', ['A'])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..book[?(@.nope.deeper)]', True, ('error', "jsonPath: Cannot read properties of undefined (reading 'deeper'): @.nope.deeper")),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[-1:]', True, ('value', [{'price': 12, 'title': 'B', 'tags': []}])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[0:0]', True, ('value', [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[::2].price', True, ('value', [8])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[0,1].price', True, ('value', [8, 12])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[(@.length-1)].title', True, ('value', 'B')),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[(@.length)]', True, ('error', 'loc.indexOf is not a function')),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book.length', True, ('value', 2)),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[0].title.length', True, ('value', 1)),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.*~', True, ('value', 'book')),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..price^', True, ('value', [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..@number()', True, ('undefined',)),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$..@string()', True, ('undefined',)),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$', True, ('value', {'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}})),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[?(@path == "$[\'store\'][\'book\'][1]")].title', True, ('value', ['B'])),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, "$.store.book[?(@parentProperty == 'store')].title", True, ('undefined',)),
    ({'store': {'book': [{'price': 8, 'title': 'A', 'tags': ['x']}, {'price': 12, 'title': 'B', 'tags': []}]}}, '$.store.book[?(@root.store.book.length == 2 && @property == 1)].title', True, ('value', ['B'])),
    ({'a': 1, 'b': 2}, "$['a','b']", True, ('undefined',)),
    ({'a': 1, 'b': 2}, '$[a,b]', True, ('value', [1, 2])),
    ({'a': 1}, '$..a', True, ('value', 1)),
    ({'a': {'a': 1}}, '$..a', True, ('value', [{'a': 1}, 1])),
    ({'a': {'*': 1, 'b': 2}}, '$.a.*', True, ('value', 1)),
    ({'a': {'b': {'*': 1, 'c': 2}}}, '$.a.b.*', True, ('value', [1, 2])),
    ({'2': 'two', 'b': 'bee', '1': 'one'}, '$.*', True, ('value', ['one', 'two', 'bee'])),
    ({'a': {'b': {'c': 1}}}, '$.a.b^^', True, ('value', {'a': {'b': {'c': 1}}})),
    ({'a': {'b': {'c': 1}}}, '$..c^^', True, ('value', [{'c': 1}])),
    ({'a': 1}, '$^', True, ('error', 'this._trace(...).filter is not a function')),
    ({'a': 1}, '$~', True, ('error', 'this._trace(...).filter is not a function')),
    ({'a': 1}, '$.a~', True, ('value', 'a')),
    ({'s': 'abc'}, '$.@foo', True, ('error', 'Unknown value type f')),
    ({'a': [1]}, '$@string()', True, ('undefined',)),
    ({'a': [1]}, '$.a[(@.foo)]', True, ('error', "Cannot read properties of undefined (reading 'indexOf')")),
    ({'a': [1, 2]}, '$.a[?(@.x.y)]', True, ('error', "jsonPath: Cannot read properties of undefined (reading 'y'): @.x.y")),
    ({'a': [1, 2]}, '$.a[?(foo)]', True, ('error', 'jsonPath: foo is not defined: foo')),
    ({'a': [1]}, '$.a[?(this)]', True, ('error', 'jsonPath: Unexpected expression: this')),
    ({'a': [1]}, '$.a[?(@.constructor)]', True, ('error', "jsonPath: Cannot read properties of 1 (reading 'constructor'): @.constructor")),
    ({'a': [1]}, '$.a[?(@[@property])]', True, ('error', 'jsonPath: Cannot convert undefined or null to object: @[@property]')),
    ({'a': [1]}, '$.a[?(1 ?? 2)]', False, ('error', 'jsonPath: {(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)(intermediate value)}[ast.operator] is not a function: 1 ?? 2')),
    ({'a': [{'b': 1}]}, '$.a[?(@.b==)]', True, ('error', 'Expected expression after == at character 8')),
    ({'a': [1]}, '$.a[?(@)]', True, ('error', 'Unexpected "@" at character 0')),
    ({'a': [1]}, '$.a[?(@.b.)]', True, ('error', 'Unexpected  at character 7')),
    ({'a': ['x']}, '$.a[?(@.match(/[/))]', True, ('error', 'Unclosed Regex at character 15')),
    ({'a': ['x']}, '$.a[?(@.match(/(/g))]', True, ('error', 'Invalid regular expression: /(/g: Unterminated group at character 15')),
    ({'a': ['x']}, '$.a[?(@.match(/x/gg))]', True, ('error', "Invalid flags supplied to RegExp constructor 'gg' at character 16")),
    ({'a': [1]}, '$.a[?(x=1, x)]', False, ('value', [1])),
    ({'a': [0, 1, '', None, '0', [], {}]}, '$.a[?(@)]', True, ('error', 'Unexpected "@" at character 0')),
    ({'a': [0, 1, '', None, '0', [], {}]}, '$.a[?(@ == 0)]', True, ('value', [0, '', '0', []])),
    ({'a': [0, 1, '', None, '0', [], {}]}, '$.a[?(@ == null)]', True, ('value', [None])),
    ({'a': [0, 1, '', None, '0', [], {}]}, '$.a[?(!@)]', False, ('error', 'missing unaryOp argument at character 1')),
    ({'a': [0, 1, '', None, '0', [], {}]}, "$.a[?(typeof @ === 'object')]", False, ('value', [None, [], {}])),
    ({'a': [1, 2, 3, 4]}, '$.a[?(@ % 2 == 0)]', False, ('value', [2, 4])),
    ({'a': [1, 2, 3, 4]}, '$.a[?(@ * 2 > 5 || @ - 1 == 0)]', False, ('value', [1, 3, 4])),
    ({'a': ['b', 'a10', 'a9']}, "$.a[?(@ > 'a5')]", True, ('value', ['b', 'a9'])),
    ({'a': {'b': []}}, '$.a.b[0]', True, ('undefined',)),
    ({'a': {'b': []}}, '$.a.b', True, ('value', [])),
    ({'a': {'b': None}}, '$.a.b', True, ('value', None)),
    ({'x': '$.y'}, '$.nothing', True, ('undefined',)),
]


@pytest.mark.parametrize("data,path,safe,expected", REFERENCE, ids=[case[1] for case in REFERENCE])
def test_matches_jsonpath_plus(data: Any, path: str, safe: bool, expected: tuple[Any, ...]) -> None:
    assert is_safe_json_path(path) is safe
    if expected[0] == "error":
        with pytest.raises(JSONPathError) as raised:
            evaluate(data, path)
        assert str(raised.value) == expected[1]
    elif expected[0] == "undefined":
        assert evaluate(data, path) is UNDEFINED
    else:
        assert evaluate(data, path) == expected[1]


@pytest.mark.parametrize("path,locations", [
    ("$.a.b", ("$", "a", "b")),
    ("$.[?(@.x)]", ("$", "..", "?(@.x)")),
    ("$.a.[attribute.with.dot].name", ("$", "a", "..", "attribute.with.dot", "name")),
    ("$['a.b']['c~d']", ("$", "a.b", "c~d")),
    ("$['a','b']", ("$", "a','b")),
    ("$..book[(@.length-1)]", ("$", "..", "book", "(@.length-1)")),
    ("$.a^^", ("$", "a", "^", "^")),
    ("$.a~", ("$", "a", "~")),
    ("$..@string()", ("$", "..", "@string()")),
    ("$.a#1", ("$", UNDEFINED)),
])
def test_path_normalisation(path: str, locations: tuple[Any, ...]) -> None:
    # what JSONPath.toPathArray gave for these
    assert path_locations(path) == locations


def test_gate_refuses_scripts_and_long_paths() -> None:
    data = {"a": [{"b": "x"}]}
    assert query(data, "$.a[?(@.b.startsWith('x'))]") is UNDEFINED  # refused by isSafeJSONPath
    assert evaluate(data, "$.a[?(@.b.startsWith('x'))]") == [{"b": "x"}]
    assert query(data, "$.a[?(@.b == 'x')].b") == ["x"]
    long_path = "$.a" + ".b" * 500
    assert not is_safe_json_path(long_path)
    assert query({"a": 1}, long_path) is UNDEFINED


def test_errors_reach_the_template_with_their_message() -> None:
    data = {"a": "v1", "b": ["x"]}
    with pytest.raises(TemplateError, match=r"^jsonPath: func is not a function: @property\.match\(/a/\)$"):
        get_value_from_path(data, "$.[?(@property.match(/a/))]", "")
    with pytest.raises(JSONPathError):
        json_path(data, "$.[?(@property.match(/a/))]")
    assert get_value_from_path(data, "$.nothing", "dflt") == "dflt"
    assert get_value_from_path(data, "$.b[0]", "dflt") == "x"
    assert get_value_from_path(data, "$.b[*]", "dflt") == ["x"]


def test_js_values_in_filters() -> None:
    data = {"items": [{"n": 1, "s": "10"}, {"n": 2, "s": "b"}, {"n": 0, "s": ""}]}
    assert evaluate(data, "$.items[?(@.s == 10)].n") == [1]
    assert evaluate(data, "$.items[?(@.s > 5)].n") == [1]
    assert evaluate(data, "$.items[?(@.n + @.s == '110')].n") == [1]
    assert evaluate(data, "$.items[?(@.n / 0 > 1e308)].n") == [1, 2]
    assert evaluate(data, "$.items[?(@.missing === undefined && @.s)].n") == [1, 2]
    assert evaluate(data, "$.items[?(@.s.padStart(3, '*') == '**b')].n") == [2]
    assert evaluate(data, "$.items[?(/^1/.test(@.s))].n") == [1]
    assert jsonpath._unary("-", 0) == 0 and math.copysign(1, jsonpath._unary("-", 0)) == -1


def test_catastrophic_regex_is_refused_not_run() -> None:
    data = {"a": ["a" * 40 + "!"]}
    started = time.monotonic()
    assert evaluate(data, "$.a[?(@.match(/^(a+)+$/))]") is UNDEFINED
    assert time.monotonic() - started < 1


def test_exponential_paths_hit_the_step_budget() -> None:
    deep: Any = 1
    for _ in range(40):
        deep = {"a": deep}
    with pytest.raises(TemplateError, match="step budget"):
        evaluate(deep, "$" + "[a,a]" * 40)


def test_compiled_paths_are_cached() -> None:
    path_locations.cache_clear()
    evaluate({"a": 1}, "$.a")
    evaluate({"a": 2}, "$.a")
    assert path_locations.cache_info().hits >= 1
