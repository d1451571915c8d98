"""worker.jsonpath against jsonpath-plus itself, on generated (json, path) pairs.

Needs node and the jsonpath-plus that Mockoon CLI brings into ``.bench/node`` (the
benchmarks install it); skipped otherwise. One node process answers every case of a test,
reading JSON lines on stdin. The node side also runs a copy of Mockoon's ``isSafeJSONPath``
so the gate is compared too; filter scripts are additionally compared value by value
through jsonpath-plus's own SafeScript.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from worker import jsonpath
from worker.jsonpath import JSONPathError, evaluate, is_safe_json_path
from worker.jsvalues import UNDEFINED

ROOT = Path(__file__).resolve().parents[2]
JSONPATH_PLUS = ROOT / ".bench" / "node" / "node_modules" / "jsonpath-plus"

pytestmark = pytest.mark.skipif(
    not shutil.which("node") or not (JSONPATH_PLUS / "package.json").exists(),
    reason="node or .bench/node/node_modules/jsonpath-plus is missing",
)

# Mockoon's isSafeJSONPath (commons-server 9.9 libs/utils.js) and the call getValueFromPath makes.
PATHS_JS = r"""
const readline = require('readline');
const {JSONPath} = require(process.argv[2]);
const isSafeJSONPath = (path) => {
  const FILTER_RE = new RegExp('^' + '[(]*' +
    "(@{0,1}\\.{0,1}[_a-zA-Z0-9\\-\\[\\]\\.]*|@{0,1}\\['[_a-zA-Z0-9\\s]*'\\]|@[a-zA-Z0-9_\\s'\\-\\[\\]\\.]*.match\\(.*\\))" +
    '\\s*' + '(==|!=|===|!==|<|<=|>|>=)?' + '\\s*' +
    "(\"[^\"]*\"|'[^']*'|[0-9.]+|@{0,1}\\${0,1}[\\.a-zA-Z0-9_\\[\\]\\s']*|true|false|undefined)?" +
    '[)]*' + '$');
  const GROUP_RE = new RegExp('\\s*&&\\s*|\\s*\\|\\|\\s*', 'g');
  if (path.length > 1000) return false;
  const hasFilter = (/\((.*)\)/.exec(path) ?? [])[1];
  if (!hasFilter) return true;
  let isValid = true;
  for (let filter of hasFilter.split(GROUP_RE)) {
    if (!FILTER_RE.test(filter.trim())) isValid = false;
  }
  return isValid;
};
readline.createInterface({input: process.stdin}).on('line', (line) => {
  const {json, path} = JSON.parse(line);
  const out = {safe: isSafeJSONPath(path)};
  try {
    const found = JSONPath({json, path, wrap: false});
    if (found === undefined) out.undefined = true; else out.value = found;
  } catch (e) {
    out.error = String(e.message);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
"""

SCRIPTS_MJS = r"""
import readline from 'readline';
const {SafeScript} = await import(process.argv[2] + '/src/Safe-Script.js');
const enc = (v) => {
  if (v === undefined) return {$u: 1};
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return {$n: 'NaN'};
    if (!Number.isFinite(v)) return {$n: String(v)};
    if (Object.is(v, -0)) return {$n: '-0'};
    return v;
  }
  if (typeof v === 'function') return {$f: 1};
  if (v instanceof RegExp) return {$r: String(v)};
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
};
readline.createInterface({input: process.stdin}).on('line', (line) => {
  const {code, context} = JSON.parse(line);
  let out;
  try { out = {value: enc(new SafeScript(code).runInNewContext(context))}; }
  catch (e) { out = {error: String(e.message)}; }
  process.stdout.write(JSON.stringify(out) + '\n');
});
"""


def _node(script: str, tmp_path: Path, suffix: str, args: list[str], lines: list[Any]) -> list[Any]:
    file = tmp_path / f"reference{suffix}"
    file.write_text(script)
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    done = subprocess.run(["node", str(file), *args], input=stdin, capture_output=True, text=True, timeout=120,
                          check=True)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(lines), done.stderr
    return answers


# ---- generated cases -----------------------------------------------------------------------

KEYS = ["a", "b", "c", "name", "price", "1", "0", "x.y", "*", "$", "a b", "length", "tags"]
SCALARS: list[Any] = [0, 1, 2, 8, 12, -3, 1.5, "", "a", "abc", "Bob", "x.y", "10", "true", True, False, None]
STEPS = [
    ".a", ".b", ".c", ".name", ".price", ".tags", ".length", ".*", "..*", "..a", "..price", "[0]", "[1]", "[-1:]",
    "[0:2]", "[:1]", "[::2]", "[1:]", "[0:0]", "[*]", "['a']", '["b"]', "['x.y']", "[a,b]", "['a','b']", "[0,1]",
    "^", "~", ".[a]", ".['a']", "[`*]", ".`a", "..[0]", "[?(@.price<10)]", "[?(@.price>=8)]", "[?(@.name=='Bob')]",
    "[?(@.name)]", "[?(@.name.match(/b/i))]", "[?(@property.match(/a/))]", "[?(@property == 'a')]",
    "[?(@property === 0)]", "[?(@ == 1)]", "[?(@.length > 1)]", "[?(@.tags.includes('x'))]", "[?(!@.name)]",
    "[?(@.price == '8')]", "[?(@.price != 8 && @.name)]", "[?(@.price < 10 || @.name == 'a')]",
    "[?(@parentProperty == 'b')]", "[?(@path.includes('a'))]", "[?(@root.a)]", "[?(@.a.b)]",
    "[(@.length-1)]", "[(@.length)]", "@string()", "..@number()", "..@scalar()", "[?(@.name.startsWith('B'))]",
    "[?(@.price + 1 > 9)]", "[?(@.price * 2 == 16)]", "[?(typeof @.price === 'number')]", "[?(@.name ? 1 : 0)]",
    "[?(@['a b'])]", "[?(@.match(/^a/))]", "[?(/c$/.test(@))]", "[?(@ > 'a')]", "[?(@.price % 2)]", "[?(@[0] == 'x')]",
    ".*~", "[?(@.name.toLowerCase() == 'bob')]", "[?(@.tags.length)]", "[?(@.tags.indexOf('y') >= 0)]",
    "[?(@ === null)]", "[?(@ == undefined)]", "[?(@.x == null)]", "[?(@.price<=@root.limit)]",
    ".@foo", "[?(@.name.trim())]", "[?(@.price.toFixed(1) == '8.0')]", "[?(x)]", "[?(@.price ==)]", "[?(@.b.)]",
]
FUZZ = list("$$..[[]]''\"*?()@,:^~-01ab` =<>!&|/+%") + [
    "@.", "?(", "a", "b", "..", "[?(@.", ")]", "'a'", "@property", "@parent", "@path", "@root", ".match(/a/)",
    "length", "name", "price", "@string()", "#0", "#1",
]
ATOMS = ["@.v", "@.w", "@.s", "@.n", "@.arr", "@.o", "@property", "1", "0", "-1", "2.5", "'1'", "''", "'abc'", "'b'",
         "true", "false", "null", "undefined", "[1]", "[1,2]", "[]", "@.arr.length", "@.s.length", "@.missing", "'10'",
         "NaNx", "@.o.k", "1e3", ".5", "@parentProperty", "@path", "@root.items.length"]
BINARY = ["==", "!=", "===", "!==", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&&", "||", "|", "&", "^", "<<",
          ">>", ">>>"]
UNARY = ["!", "-", "+", "~", "typeof ", "void "]
METHODS = [".includes('a')", ".indexOf('b')", ".startsWith('a')", ".endsWith('c')", ".toUpperCase()", ".slice(1)",
           ".slice(-2)", ".substring(1,2)", ".charAt(0)", ".split('b')", ".split('')", ".trim()", ".at(-1)",
           ".concat('x')", ".replace('a','z')", ".replace(/b/g,'$&$&')", ".match(/b(c)?/)", ".match(/[a-z]/g)",
           ".toString()", ".join('-')", ".padStart(5,'*')", ".repeat(2)", ".toFixed(2)", ".lastIndexOf('a')",
           ".search(/c/)", ".charCodeAt(0)", ".hasOwnProperty('k')", ".valueOf()", ""]
ITEM_VALUES: list[Any] = [0, 1, -1, 2.5, 10, "", "1", "10", "abc", "b", " a ", "Abc", True, False, None, [], [1],
                          [1, 2], ["a", "b"], {}, {"k": 1}]


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.3:
        return rng.choice(SCALARS)
    if roll < 0.6:
        return [_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(KEYS): _value(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def _document(rng: random.Random) -> dict[str, Any]:
    doc = {key: _value(rng, 3) for key in rng.sample(KEYS, rng.randint(1, 5))}
    if rng.random() < 0.5:
        doc["b"] = [{"name": rng.choice(["Bob", "a", "abc"]), "price": rng.choice([8, 12, 1.5, "8"]),
                     "tags": rng.sample(["x", "y", "z"], rng.randint(0, 3))} for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:
        doc["limit"] = 10
    return doc


def _expression(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if depth <= 0 or roll < 0.35:
        atom = rng.choice(ATOMS)
        return atom + rng.choice(METHODS) if atom.startswith("@") and rng.random() < 0.4 else atom
    if roll < 0.5:
        return rng.choice(UNARY) + _expression(rng, depth - 1)
    if roll < 0.6:
        return "(" + _expression(rng, depth - 1) + ")"
    if roll < 0.65:
        return f"{_expression(rng, depth - 1)} ? {_expression(rng, depth - 1)} : {_expression(rng, depth - 1)}"
    return f"{_expression(rng, depth - 1)} {rng.choice(BINARY)} {_expression(rng, depth - 1)}"


def _item(rng: random.Random) -> dict[str, Any]:
    return {"v": rng.choice(ITEM_VALUES), "w": rng.choice(ITEM_VALUES),
            "s": rng.choice(["abc", "b", " a ", "", "Abc", "bcb"]), "n": rng.choice([0, 1, 2.5, -3, 10]),
            "arr": rng.choice([[], [1], ["a", "b"], [1, 2, 3]]), "o": rng.choice([{}, {"k": 1}, {"k": "x"}])}


def _path_cases(seed: int) -> list[tuple[Any, str]]:
    rng = random.Random(seed)
    cases: list[tuple[Any, str]] = []
    for _ in range(300):  # step by step paths
        cases.append((_document(rng), "$" + "".join(rng.choice(STEPS) for _ in range(rng.randint(1, 3)))))
    for _ in range(200):  # character soup: normalisation and parse errors
        doc = _document(rng)
        doc["a"] = {"b": [1, "ab", {"a": 2, "b": [3]}], "a": "aa", "1": {"b": None}}
        cases.append((doc, "$" + "".join(rng.choice(FUZZ) for _ in range(rng.randint(1, 12)))))
    for _ in range(200):  # filter scripts over mixed JS types
        doc = {"items": [_item(rng) for _ in range(rng.randint(1, 4))],
               "m": {key: _item(rng) for key in rng.sample(["a", "b", "2", "k"], 2)}}
        where = rng.choice(["$.items", "$.m", "$..items", "$"])
        tail = rng.choice(["", ".v", "~", "^", ".s"])
        cases.append((doc, f"{where}[?({_expression(rng, 3)})]{tail}"))
    return cases


def _ours(data: Any, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"safe": is_safe_json_path(path)}
    try:
        found = evaluate(data, path)
    except JSONPathError as error:
        out["error"] = str(error)
        return out
    if found is UNDEFINED:
        out["undefined"] = True
    else:
        out["value"] = json.loads(json.dumps(found, default=lambda _: None))
    return out


def test_paths_match_jsonpath_plus(tmp_path: Path) -> None:
    cases = _path_cases(20240611)
    reference = _node(PATHS_JS, tmp_path, ".js", [str(JSONPATH_PLUS)],
                      [{"json": data, "path": path} for data, path in cases])
    differences = [(path, data, want, got) for (data, path), want in zip(cases, reference, strict=True)
                   if (got := _ours(data, path)) != want]
    assert not differences, "\n".join(f"{p!r} on {json.dumps(d)[:120]}\n  node {w}\n  ours {g}"
                                      for p, d, w, g in differences[:10])


def _encode(value: Any) -> Any:
    if value is UNDEFINED:
        return {"$u": 1}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$n": "NaN"}
        if math.isinf(value):
            return {"$n": "Infinity" if value > 0 else "-Infinity"}
        if value == 0 and math.copysign(1, value) < 0:
            return {"$n": "-0"}
        return int(value) if value.is_integer() else value
    if isinstance(value, jsonpath.JSFunction):
        return {"$f": 1}
    if isinstance(value, jsonpath.JSRegExp):
        return {"$r": str(value)}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def test_script_values_match_the_safe_evaluator(tmp_path: Path) -> None:
    """Not only truthiness: the value of each filter expression, NaN, -0 and undefined included."""
    rng = random.Random(7)
    jobs = []
    for _ in range(400):
        code = _expression(rng, 3)
        script = (code.replace("@parentProperty", "_$_parentProperty").replace("@parent", "_$_parent")
                  .replace("@property", "_$_property").replace("@root", "_$_root").replace("@path", "_$_path"))
        script = jsonpath._AT_VALUE.sub(lambda m: "_$_v" + m.group(1), script)
        context = {"_$_v": _item(rng), "_$_property": rng.choice([0, "a"]), "_$_parentProperty": "items",
                   "_$_parent": None, "_$_root": {"items": [1]}, "_$_path": "$['items'][0]"}
        jobs.append((script, context))
    reference = _node(SCRIPTS_MJS, tmp_path, ".mjs", [str(JSONPATH_PLUS)],
                      [{"code": code, "context": context} for code, context in jobs])
    differences = []
    for (script, context), want in zip(jobs, reference, strict=True):
        try:
            got: dict[str, Any] = {"value": _encode(jsonpath._evaluate(jsonpath._Parser(script).parse(), dict(context)))}
        except (jsonpath._ParseError, jsonpath._JSThrow) as error:
            got = {"error": str(error)}
        if got != want:
            differences.append(f"{script}  with @ = {json.dumps(context['_$_v'])}\n  node {want}\n  ours {got}")
    assert not differences, "\n".join(differences[:10])
