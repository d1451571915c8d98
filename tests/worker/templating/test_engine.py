"""Handlebars semantics and helper families, rendered without sockets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import environment_from_obj
from tests.conftest import make_env
from worker.request_model import RequestView
from worker.responder import MockServer, Scope, WorkerOptions
from worker.templating import Engine, TemplateError


@pytest.fixture(scope="module")
def server() -> MockServer:
    env, _ = environment_from_obj(make_env([], data=[{"uuid": "u", "id": "b1", "name": "Users",
                                                     "value": '[{"id":1,"name":"ann"},{"id":2,"name":"bob"}]'}]))
    return MockServer(env, WorkerOptions(faker_seed=1, env_vars={"MOCKOON_X": "1"}))


def render(server: MockServer, source: str, **request: object) -> str:
    view = RequestView.build(method=str(request.get("method", "GET")), path="/p", original_url="/p?a=1&list[]=x&list[]=y",
                             query_string="a=1&list[]=x&list[]=y", headers=[("host", "localhost:3000"), ("x-h", "hv")],
                             body_text='{"user":{"name":"jo"}}', body={"user": {"name": "jo"}})
    return server.engine.render(source, Scope(view, server))


@pytest.mark.parametrize("source,expected", [
    ("{{#if true}}y{{else}}n{{/if}}", "y"),
    ("{{#if 0}}y{{else}}n{{/if}}", "n"),
    ("{{#if (array)}}y{{else if 1}}second{{else}}n{{/if}}", "second"),
    ("{{#unless false}}u{{/unless}}", "u"),
    ("{{#each (array 'a' 'b')}}{{@index}}:{{this}}{{#unless @last}},{{/unless}}{{/each}}", "0:a,1:b"),
    ("{{#each (array 1 2) as |item idx|}}{{idx}}={{item}};{{/each}}", "0=1;1=2;"),
    ("{{#with (object a='x')}}{{a}}{{/with}}", "x"),
    ("{{lookup (array 'p' 'q') 1}}", "q"),
    ("{{! comment }}a{{!-- long }} comment --}}b", "ab"),
    ("{{concat '<b>'}}|{{{concat '<b>'}}}|{{&concat '<b>'}}|{{'<b>'}}", "&lt;b&gt;|<b>|<b>|"),
    ("a  {{~ concat 'x' ~}}  b", "axb"),
    ("\\{{literal}}", "{{literal}}"),
    # Mockoon has no raw helper: helperMissing answers '', and blockHelperMissing renders the block
    ("{{{{raw}}}}{{not parsed}}{{{{/raw}}}}", "{{not parsed}}"),
    ("{{#unknown}}x{{else}}y{{/unknown}}", "x"), ("{{^unknown}}x{{/unknown}}", ""), ("{{^a.b}}x{{/a.b}}", "x"),
    ("{{unknownHelper 1 2}}|{{missing.path}}", "|"),
    ("{{divide 10 4}} {{multiply 0.1 3}} {{modulo 7 0}} {{round 2.5}} {{toFixed 1.005 2}}", "2.5 0.30000000000000004  3 1.00"),
    ("{{#switch 'b'}}{{#case 'a'}}A{{/case}}{{#case 'b'}}B{{/case}}{{#default}}D{{/default}}{{/switch}}", "B"),
    ("{{setVar 'v' 5}}{{@v}}|{{getVar 'v'}}", "5|5"),
    ("{{padStart '7' 3 '0'}} {{uppercase 'ab'}} {{split 'a b' ' '}} {{concat 'a' 1 true}}", "007 AB a,b a1true"),
    ("{{len 'abc'}} {{includes 'abc' 'b'}} {{reverse (array 1 2)}}", "3 true 2,1"),
    ("{{stringify (object a=1)}}", '{\n  &quot;a&quot;: 1\n}'),
    ("{{{jsonParse '{\"a\":[1,2]}'}}}", "[object Object]"),
    ("{{base64 'hi'}} {{{base64 'hi'}}} {{base64Decode 'aGk='}}", "aGk= aGk= hi"),  # SafeStrings in Mockoon 9.9
    ("{{dateFormat '2024-03-05T10:20:30.000Z' 'yyyy-MM-dd'}}", "2024-03-05"),
    ("{{body 'user.name'}} {{body '$.user.name'}} {{queryParam 'a'}} {{queryParam 'list'}} {{header 'X-H'}}", 'jo jo 1 ["x","y"] hv'),
    ("{{hostname}} {{method}} {{baseUrl}}", "localhost GET http://localhost:3000"),
    ("{{data 'Users' '1.name'}} {{len (dataRaw 'b1')}}", "bob 2"),
    ("{{getEnvVar 'X'}}{{getEnvVar 'MISSING' 'dflt'}}", "1dflt"),
    ("{{jsonPath (dataRaw 'Users') '$[0].name'}} {{objectPath (dataRaw 'Users') '1.id'}}", "ann 2"),
    ("{{sortBy (dataRaw 'Users') 'name' 'desc'}}", "[object Object],[object Object]"),
])
def test_render(server: MockServer, source: str, expected: str) -> None:
    assert render(server, source) == expected


def test_standalone_block_lines_leave_no_blank_lines(server: MockServer) -> None:
    source = "[\n  {{#each (array 1 2)}}\n  {{this}}\n  {{/each}}\n]"
    assert render(server, source) == "[\n  1\n  2\n]"


def test_repeat_matches_mockoon_comma_handling(server: MockServer) -> None:
    assert render(server, "[{{#repeat 3}}{{@index}}{{/repeat}}]") == "[0,\n1,\n2\n]"
    # a long repeat builds its output in pieces, with the same text as one trimmed string
    assert render(server, "{{#repeat 20000}} x {{/repeat}}") == " x,\n" * 19999 + " x\n"
    # whitespace-only pieces trim back into what came before, comma included at the end
    assert render(server, "{{#repeat 3}}{{#if @first}}a,{{/if}}  {{/repeat}}") == "a\n"


def test_uuid_is_version_4_with_the_rfc_variant(server: MockServer) -> None:
    for _ in range(200):
        value = render(server, "{{faker 'string.uuid'}}")
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value), value


def test_faker_is_seeded_and_shaped(server: MockServer) -> None:
    uuid = render(server, "{{faker 'string.uuid'}}")
    assert len(uuid) == 36 and uuid[14] == "4"
    number = int(render(server, "{{faker 'number.int' min=5 max=7}}"))
    assert 5 <= number <= 7


def test_budgets_stop_runaway_templates(server: MockServer) -> None:
    with pytest.raises(TemplateError, match="repeat count"):
        render(server, "{{#repeat 100000000}}x{{/repeat}}")


def test_broken_template_raises_template_error(server: MockServer) -> None:
    with pytest.raises(TemplateError):
        render(server, "{{#if}}unclosed")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}#/^!~&'\" .@|()=abcdeifhlrtsw0123\n", max_size=60))
def test_engine_never_crashes_on_random_text(text: str) -> None:
    engine = Engine()
    env, _ = environment_from_obj(make_env([]))
    scope = Scope(None, MockServer(env))
    try:
        engine.render(text, scope)
    except TemplateError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40).filter(lambda t: "{{" not in t and not t.endswith(("{", "\\")) and not t.startswith("}")
                                   and not set(t) & set("\r\n\x00")))
def test_text_in_generated_bodies_is_copied_exactly(server: MockServer, text: str) -> None:
    """Loop bodies become generated Python; whatever the text (quotes, backslashes, braces,
    any unicode but NUL, which Handlebars' lexer does not read), it must come out as it went in."""
    source = "{{#each (array 1 2)}}" + text + "{{@index}}{{#if @last}}" + text + "{{/if}}{{/each}}"
    # (no line breaks: Handlebars drops a standalone line's whitespace around block tags)
    assert render(server, source) == text + "0" + text + "1" + text
