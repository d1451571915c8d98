"""Our engine against Handlebars.js with Mockoon's own helpers (from the Mockoon CLI install
in .bench/node), template by template: block helpers, loops and their @data, whose fast
paths the compiler inlines. Skipped where node or the install is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from schemas import environment_from_obj
from tests.bench.common import NODE_DIR
from worker.request_model import RequestView
from worker.responder import MockServer, Scope
from worker.templating import TemplateError

BUCKET = json.dumps([{"id": i, "name": f"user {i}", "age": 20 + i % 50, "tags": ["t", i]} for i in range(12)])
TEMPLATES = [
    "{{#each (dataRaw 'users')}}{{#if (gt age 25)}}{{name}},{{/if}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{@index}}{{#if @first}}F{{/if}}{{#if @last}}L{{/if}}{{/each}}",
    "{{#each (dataRaw 'users') as |u i|}}{{#if (lt i 3)}}{{i}}={{u.name}};{{/if}}{{/each}}",
    "{{#each (dataRaw 'users' '0')}}{{@key}}:{{this}},{{/each}}",
    "{{#each (array (array 1 2) (array 3))}}[{{#each this}}{{@../index}}.{{@index}}={{this}} {{/each}}]{{/each}}",
    "{{#with (object a='A')}}{{#each (array 1 2)}}{{../a}}{{this}}{{/each}}{{/with}}",
    "{{#each (array 'a' 'b')}}{{#each (array 1 2)}}{{../this}}{{this}}{{/each}}{{/each}}",
    "{{#each (array)}}x{{else}}empty{{/each}}",
    "{{#each 'ab'}}{{this}}{{@index}}{{else}}inverse{{/each}}",
    "{{#each 5}}x{{else}}inverse{{/each}}",
    "{{#each (dataRaw 'users')}}{{#each tags}}{{this}}{{/each}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{#unless (gte age 25)}}{{name}}{{else}}-{{/unless}}{{/each}}",
    "{{#if (array)}}y{{else}}n{{/if}}{{#if 0}}y{{else}}n{{/if}}{{#if 0 includeZero=true}}z{{/if}}",
    "{{#unless (gt 1 2)}}u{{else}}e{{/unless}}{{#if 'x'}}{{else}}no{{/if}}",
    "{{#each (array 1 2 3)}}{{setVar 'v' this}}{{@v}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{#if (eq (modulo id 3) 0)}}{{name}}|{{/if}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{#if missing}}m{{else if (lte age 21)}}{{name}}{{/if}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{{name}}}{{/each}}",
    "{{#each (object a=1 b=2)}}{{@key}}={{this}}{{#unless @last}}&{{/unless}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{lookup tags 1}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{add age 1}}{{#if @last}}!{{/if}}{{/each}}",
    "{{#repeat 3}}x{{/repeat}}",
    "[{{#repeat 3}}  {{/repeat}}]",
    "{{#repeat 3}}a,{{/repeat}}",
    "{{#repeat 2}}{{@index}}{{#if @last}}L{{/if}}\n\n{{/repeat}}",
    "{{#repeat 4}}{{#if @first}}  {{else}}{{@index}} {{/if}}{{/repeat}}",
    "{{#repeat 3 comma=false}}b {{/repeat}}",
    "{{#repeat 0}}x{{/repeat}}|{{#repeat 1}}{{@total}}{{/repeat}}",
    "{{#repeat 2}}{\"id\": {{@index}}}{{/repeat}}",
    "{{#with (object a='A')}}{{#repeat 2}}{{a}}{{/repeat}}{{/with}}",
    "{{#repeat 3}}{{#if @first}}a,{{/if}}  {{/repeat}}",
    # bodies written out as generated Python: quotes, backslashes, braces, newlines and unicode in the text,
    # values that need escaping, items that are not objects, @key over objects
    "{{#each (array 1 2)}}'\"\\{}\n\t{{this}}é%s{{@index}}\u2028{{/each}}",
    "{{#each (array '<a>' 'b&c' (object a=1) 5 null)}}[{{this}}|{{a}}|{{length}}]{{/each}}",
    "{{#each (array 'ab' 'c')}}{{length}}{{#if @last}}.{{else}},{{/if}}{{/each}}",
    "{{#each (object x='<1>' y=2)}}{{@key}}={{this}}{{#unless @first}}!{{/unless}};{{/each}}",
    "{{#each (dataRaw 'users') as |u|}}{{u.name}}{{name}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{#if (gt age 25)}}{{{name}}}{{else}}{{id}}{{/if}}{{/each}}",
    # comparisons written out in generated loops: numbers compared there, anything else coerced
    "{{#each (array (object v=1) (object v=2.5) (object v='30') (object v=null) (object v=true) (object))}}"
    "{{#if (gt v 2)}}Y{{else}}N{{/if}}{{#unless (lte v 2.5)}}u{{/unless}}{{#if (lt @index 2)}}<{{/if}}|{{/each}}",
    "{{#each (object a=1 b=2 c=3)}}{{#if (gt @index 0)}}{{@key}}{{@index}}{{#if @last}}!{{/if}}{{/if}}{{/each}}",
    "{{#each (array 'x' 'y')}}{{#each (array 1 2)}}{{@index}}{{#if @first}}f{{/if}}{{/each}}{{@index}}{{/each}}",
    "{{#with (object x='X')}}{{#each (dataRaw 'users')}}{{#if (gt age 28)}}{{../x}}{{name}}{{/if}}{{/each}}{{/with}}",
    "{{#each (dataRaw 'users')}}{{#each tags}}{{../name}}/{{this}} {{/each}}{{/each}}",
    "{{#each (dataRaw 'users')}}{{#if (gt age 25)}}{{#repeat 2 comma=false}}{{id}}{{/repeat}}{{/if}}{{/each}}",
]


def reference_outputs() -> dict[str, object] | None:
    script = Path(__file__).parents[2] / "bench" / "handlebars_bench.js"
    if not shutil.which("node") or not (NODE_DIR / "node_modules" / "handlebars").exists():
        return None
    cases = json.dumps({"templates": {str(i): t for i, t in enumerate(TEMPLATES)}, "bucket": BUCKET})
    for base in (NODE_DIR / "node_modules" / "@mockoon" / "cli", NODE_DIR):
        done = subprocess.run(["node", str(script), str(base), cases, "render"], capture_output=True, text=True,
                              timeout=60)
        if done.returncode == 0:
            return json.loads(done.stdout)  # type: ignore[no-any-return]
    return None


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    outputs = reference_outputs()
    if outputs is None:
        pytest.skip("Handlebars.js with Mockoon's helpers is not installed (.bench/node)")
    return outputs


def ours(source: str) -> object:
    env, _ = environment_from_obj({"uuid": "t", "lastMigration": 33, "name": "t", "routes": [],
                                   "data": [{"uuid": "b", "id": "users", "name": "Users", "value": BUCKET}]})
    server = MockServer(env)
    view = RequestView.build(method="GET", path="/x", original_url="/x", query_string="", headers=[("host", "localhost")])
    try:
        return server.engine.render(source, Scope(view, server))
    except TemplateError as error:
        return {"error": str(error)}


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_same_output_as_handlebars_js(reference: dict[str, object], index: int) -> None:
    expected = reference[str(index)]
    got = ours(TEMPLATES[index])
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"Handlebars.js fails with {expected['error']!r}, we rendered {got!r}"
    else:
        assert got == expected, TEMPLATES[index]
