"""Behaviours pinned against Mockoon CLI 9.9.0 without node: every expectation here is what the
CLI answered (see test_differential_helpers.py, which asks it side by side)."""

from __future__ import annotations

import json
import re

import pytest

from schemas import environment_from_obj
from tests.conftest import make_env
from tests.worker.test_differential_helpers import BOUNDARY, multipart
from worker.request_model import RequestView, parse_body, parse_qs
from worker.responder import MockServer, Scope, WorkerOptions
from worker.templating import TemplateError


@pytest.fixture(scope="module")
def server() -> MockServer:
    env, _ = environment_from_obj(make_env([]))
    return MockServer(env, WorkerOptions(faker_seed=1))


def render(server: MockServer, source: str, body: bytes = b"", content_type: str = "") -> str:
    text, parsed = parse_body(body, content_type)
    view = RequestView.build(method="POST", path="/p", original_url="/p", query_string="",
                             headers=[("host", "localhost:3000")], body_text=text, body=parsed)
    return server.engine.render(source, Scope(view, server))


WEEKS = "YYYY-ww-e|RRRR-II-i|Y-w|yy YY RR|wo Io|Do do DDD"


@pytest.mark.parametrize("source,expected", [
    ("{{#repeat 50}}{{#if (gt (faker 'number.int' max=5 max=99999) 5)}}big{{/if}}{{/repeat}}", "\n"),
    ("{{{stringify (object a=1 b=2 a=3)}}}", '{\n  "a": 1,\n  "b": 2\n}'),
    ("{{dateTimeShift date='2024-01-01T00:00:00.000Z' days=1 days=5 format='yyyy-MM-dd'}}", "2024-01-02"),
    (f'{{{{dateFormat "2020-12-27T12:00:00" "{WEEKS}"}}}}', "2021-01-1|2020-52-7|2021-1|20 21 2020|1st 52nd|362nd 27th 362"),
    (f'{{{{dateFormat "2021-01-01T12:00:00" "{WEEKS}"}}}}', "2021-01-6|2020-53-5|2021-1|21 21 2020|1st 53rd|1st 1st 001"),
    (f'{{{{dateFormat "2024-12-31T12:00:00" "{WEEKS}"}}}}', "2025-01-3|2025-01-2|2025-1|24 25 2025|1st 1st|366th 31st 366"),
    (f'{{{{dateFormat "2027-01-02T12:00:00" "{WEEKS}"}}}}', "2027-01-7|2026-53-6|2027-1|27 27 2026|1st 53rd|2nd 2nd 002"),
    ('{{dateFormat "2024-03-05T14:07:09.045" "G GGGG q qq qqq QQQ Mo yo Yo ho Ho mo so"}}',
     "AD Anno Domini 1 01 Q1 Q1 3rd 2024th 2024th 2nd 14th 7th 9th"),
    ('{{dateFormat "2024-03-05T14:07:09.045" "EEEE EEEEE eo eee cccc io iii b bbbb B"}}',
     "Tuesday T 3rd Tue Tuesday 2nd Tue PM p.m. in the afternoon"),
    ('{{dateFormat "2024-03-05T12:07:09" "b bbb bbbbb a aaa aaaaa aaaa E EEEEEE eeeeee ccccc c ii d ddd u"}}',
     "noon noon n PM pm p p.m. Tue Tu Tu T 3 02 5 005 2024"),
    ('{{dateFormat "2024-03-05T12:07:09" "\'week\' w \'of\' Y, \'\'yy\'\' \'unterminated"}}',
     "week 10 of 2024, &#x27;24&#x27; unterminated"),
    ("{{dateFormat 1700000000000 'yyyy-MM-dd'}}", ""),
    ("{{dateTimeShift date='2024-01-31T10:00:00' months=1 format='yyyy-MM-dd'}}", "2024-03-02"),
    ("{{dateTimeShift date='2024-02-29T10:00:00' years=1 format='yyyy-MM-dd'}}", "2025-03-01"),
    ("{{dateTimeShift date='2024-03-31T10:00:00' months=-1 format='yyyy-MM-dd'}}", "2024-03-02"),
    ("{{dateTimeShift date='2024-01-30T10:00:00' days=1 months=1 format='yyyy-MM-dd'}}", "2024-03-02"),
    ("{{{jsonPath (array 1 2 3) '$[1]'}}}|{{{jsonPath (array 1 2 3) '$[*]'}}}", "2|1,2,3"),
    ("{{objectPath (array 1 2 3) '1'}}|[{{objectPath (array 1 2) '5'}}]|[{{objectPath (object a=1) 'a.b'}}]", "2|[]|[]"),
    ("[{{jsonPath null '$.a'}}]|[{{objectPath null 'a'}}]|[{{jmesPath null 'a'}}]", "[]|[]|[]"),
    ("{{padStart 7 3 0}}|{{padEnd 7 3 0}}|{{padStart 7 3}}|{{padStart 123 2 'x'}}", "007|700|  7|123"),
    ("{{split 1.5 '.'}}|{{replace 123 2 9}}|{{includes 123 2}}|{{substr 12345 1 2}}|{{padEnd 1.5 5 0}}"
     "|{{padStart true 6}}|{{padStart 'a' '4' 'xy'}}", "||true|23|1.500|  true|xyxa"),
    ("{{replace 'abcb' 'b' '[$&]'}}|{{replaceAll 'abcb' 'b' '$$'}}|{{replace 'abc' '' 'x'}}|{{replace 'a.c' '.' \"$'\"}}",
     "a[b]cb|a$c$|abc|acc"),
    ("{{base64 'hi?'}}|{{base64 'hi'}}|{{base64Decode 'PGI+'}}|{{base64url 'hi'}}|{{len (base64 'hi')}}",
     "aGk/|aGk=|<b>|aGk|0"),
    ("{{int 9007199254740993 9007199254740993}}|{{float 9007199254740993 9007199254740993}}",
     "9007199254740992|9007199254740992"),
    ("{{int 100000000000000000000 100000000000000000000}}|{{multiply 9007199254740993 1}}",
     "100000000000000000000|9007199254740992"),
    ("|{{add 9007199254740992 1}}|{{multiply 3 3000000000000000}}", "|9007199254740992|9000000000000000"),
])
def test_helpers(server: MockServer, source: str, expected: str) -> None:
    assert render(server, source) == expected


@pytest.mark.parametrize("source,message", [
    ('{{dateFormat "2024-03-05T14:07:09" "Ro"}}', "Format string contains an unescaped latin alphabet character `o`"),
    ('{{dateFormat "2024-03-05T14:07:09" "yyyy f"}}', "Format string contains an unescaped latin alphabet character `f`"),
    ("{{dateFormat 'nope' 'yyyy'}}", "Invalid time value"),
    ("{{dateTimeShift date='nope' days=1}}", "Invalid time value"),
    ("{{uppercase 12}}", "text.toUpperCase is not a function"),
    ("{{lowercase 12}}", "text.toLowerCase is not a function"),
])
def test_helper_errors(server: MockServer, source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(server, source)


@pytest.mark.parametrize("body,content_type,source,expected", [
    (b'[{"x":1},{"y":2}]', "application/json", "{{body '1'}}|{{body '$[1]'}}|[{{body '5'}}]|{{{stringify (bodyRaw '0')}}}",
     '{"y":2}|{"y":2}|[]|{\n  "x": 1\n}'),
    (b'{"a":1}', "application/json", "[{{body 'a.b.c'}}]|[{{body '$.a.b'}}]|[{{bodyRaw 'nope'}}]|{{body 'nope' 'dflt'}}",
     "[]|[]|[]|dflt"),
    (b'{"a":{"b":1}}', "application/json", "{{jsonPath (body) '$.a'}}|{{objectPath (body) 'a'}}",
     "{&quot;a&quot;:{&quot;b&quot;:1}}|{&quot;a&quot;:{&quot;b&quot;:1}}"),
    (b'{"a":{"b":1},"l":[1,2]}', "application/json",
     "{{jsonPath (bodyRaw) '$.a'}}|{{jmesPath (bodyRaw) 'a'}}|{{#each (jsonPath (bodyRaw) '$.l')}}{{this}};{{/each}}",
     "[object Object]|[object Object]|1;2;"),
    (b'{"a":1}', "application/json", "{{jsonPath (bodyRaw) '$.x' 'd1'}}|{{objectPath (bodyRaw) 'x' 'd2'}}"
     "|{{jmesPath (bodyRaw) 'x' 'd3'}}|[{{objectPath (bodyRaw) ''}}]|{{jsonPath 'str' '$.a'}}", "d1|d2|d3|[[object Object]]|str"),
    (b'{"a":9007199254740993,"b":[123456789012345678901]}', "application/json",
     "{{body 'a'}}|{{{stringify (bodyRaw)}}}", '9007199254740992|{\n  "a": 9007199254740992,\n  "b": [\n    123456789012345680000\n  ]\n}'),
    ("h\u00e9llo <b>".encode(), "text/plain", "{{body}}|{{{bodyRaw}}}|{{len (body)}}|{{len (bodyRaw)}}|[{{body 'a'}}]",
     "h\u00e9llo <b>||0|0|[]"),
    (bytes(range(250, 256)) + b"ab\x00c", "application/octet-stream", "{{len (body)}}|{{len (bodyRaw)}}|{{body}}",
     "0|0|" + "\ufffd" * 6 + "ab\x00c"),
    (b'{"a":', "application/json", "{{body}}|{{len (bodyRaw)}}|[{{body 'a'}}]", '{"a":|0|[]'),
    (b"a[b]=1&b[]=3&b[]=4", "application/x-www-form-urlencoded", "{{body 'a.b'}}|{{body 'b.1'}}|{{len (bodyRaw 'b')}}",
     "1|4|2"),
])
def test_request_bodies(server: MockServer, body: bytes, content_type: str, source: str, expected: str) -> None:
    assert render(server, source, body, content_type) == expected


@pytest.mark.parametrize("query,expected", [
    ("a[b]=1&a[c][d]=2&x=3", {"a": {"b": "1", "c": {"d": "2"}}, "x": "3"}),
    ("a=1&a=2&b[]=3&b[]=4&c[]=", {"a": ["1", "2"], "b": ["3", "4"], "c": [""]}),
    ("a[1]=x&a[0]=y&b[30]=z&c=1&c[k]=2", {"a": ["y", "x"], "b": {"30": "z"}, "c": ["1", {"k": "2"}]}),
])
def test_urlencoded(query: str, expected: dict) -> None:
    assert parse_qs(query, depth=10) == expected


MP = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.mark.parametrize("body,expected", [
    (multipart(("a", None, "", b"1"), ("b", None, "", b"two"), ("a", None, "", b"3"), ("c[]", None, "", b"4")),
     '{"a":["1","3"],"b":"two","c":["4"]}'),
    (multipart(("o[k]", None, "", b"1"), ("o[n][m]", None, "", b"2"), ("l[1]", None, "", b"x"), ("l[0]", None, "", b"y"),
               ("s", None, "", b"v"), ("s[t]", None, "", b"w")),
     '{"o":{"k":"1","n":{"m":"2"}},"l":["y","x"],"s":{"":"v","t":"w"}}'),
    (multipart(("f", "a.txt", "text/plain", b"hello"), ("g", None, "", b"x"),
               ("f", "b.bin", "application/octet-stream", b"\x00\x01\x02"), ("h", "c.json", "", b"{}")),
     '{"g":"x","f":[{"filename":"a.txt","mimetype":"text/plain","size":5},'
     '{"filename":"b.bin","mimetype":"application/octet-stream","size":3},'
     '{"filename":"c.json","mimetype":"text/plain","size":2}]}'.replace(',{"filename":"c.json"', '],"h":{"filename":"c.json"')
     .replace('"size":2}]}', '"size":2}}')),
])
def test_multipart(body: bytes, expected: str) -> None:
    assert json.dumps(parse_body(body, MP)[1], separators=(",", ":")) == expected


@pytest.mark.parametrize("content_type,body,expected", [
    ("text/plain; charset=iso-8859-1", "caf\u00e9", b"caf\xe9"),
    ("text/html;charset=ISO-8859-1", "caf\u00e9", b"caf\xe9"),
    ("text/plain; charset=utf-16", "ab", b"a\x00b\x00"),
    ("application/json; charset=latin1", '{"a":"\u00e9"}', b'{"a":"\xe9"}'),
    ("text/plain; charset=hex", "68693f", b"hi?"),
    ("text/plain; charset=US-ASCII", "caf\u00e9 \u20ac", b"caf\xe9 \xac"),
    ("text/plain; charset=shift_jis", "caf\u00e9", b"caf\xc3\xa9"),
])
def test_charset_kept_and_body_encoded(content_type: str, body: str, expected: bytes) -> None:
    route = {"uuid": "r", "type": "http", "method": "get", "endpoint": "x",
             "responses": [{"uuid": "rr", "body": body, "statusCode": 200, "default": True,
                            "headers": [{"key": "Content-Type", "value": content_type}]}]}
    env, _ = environment_from_obj(make_env([route]))
    result = MockServer(env, WorkerOptions()).handle(
        RequestView.build(method="GET", path="/x", original_url="/x", query_string="", headers=[]))
    assert dict(result.headers)["Content-Type"] == content_type
    assert result.body == expected
