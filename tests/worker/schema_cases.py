"""Generated (schema, value) pairs for comparing worker.json_schema with Ajv (seeded, reproducible)."""

from __future__ import annotations

import random
from typing import Any

FORMAT_SEEDS: dict[str, list[str]] = {
    "date": ["2020-02-29", "2021-02-29", "2000-02-29", "1900-02-29", "2020-13-01", "2020-12-31", "2020-1-01", "٢٠٢٠-01-01", "2020-04-31"],
    "time": ["10:00:00Z", "23:59:60Z", "23:59:60+01:00", "00:59:60+01:00", "10:00:00", "10:00:00.5+0130", "10:00:00+01", "24:00:00Z", "10:00:00z", "10:60:00Z", "22:59:60-01:00"],
    "date-time": ["2020-01-01T10:00:00Z", "2020-01-01t10:00:00z", "2020-01-01 10:00:00Z", "2020-01-01\u300010:00:00Z", "2020-01-01T10:00:00", "2020-01-01TT10:00:00Z", "2020-01-01T10:00:00.123+05:30"],
    "iso-time": ["10:00:00", "10:00:00Z", "25:00:00", "10:00:00.1-0800"],
    "iso-date-time": ["2020-01-01T10:00:00", "2020-01-01 10:00:00", "2020-01-01x10:00:00", "2020-02-30T10:00:00"],
    "duration": ["P1Y", "P", "PT", "PT1H", "P1W", "P1Y1W", "P1Y2M3DT4H5M6S", "PT1D", "P1M1Y", "PT5", "P1.5Y", "P1DT"],
    "uri": ["http://example.com/a?b#c", "urn:isbn:123", "a:", "mailto:x@y", "http://[::1]:80/", "http://[v1.x]/", "http://a b/", "//host", "http://%zz", "a:/host/p", "http://u@h:12/p", "x:a\"b", "http://1.2.3.04/", "http://[1:2:3:4:5:6:7:8:9]/"],
    "uri-reference": ["", "#f", "/a/b", "a:b", "//h/p", "a b", "?q", "../x", "http://h/\"q", "%41", "%4", "[::1]"],
    "uri-template": ["http://e.com/{x}", "{+x,y:3,z*}", "{}", "{x", "a b", "{x:0}", "{x:10000}", "%7B", "{%41}", "\u00e9"],
    "url": ["http://example.com", "https://x.co/p?q", "ftp://u:p@host.museum:21/", "http://10.1.2.3/", "http://1.2.3.4", "http://223.255.255.254", "http://224.0.0.1", "http://localhost", "http://a.b-c.de", "http://a..b.cc", "http://a.b.c", "http://ex.com:1", "http://ex.com:123456", "http://\u00fcber.de", "HTTP://EX.COM", "http://a@b@c.com", "http://a b@c.com", "http://172.16.0.1", "http://172.32.0.1", "http://1.2.3.0", "http://1.02.3.4"],
    "email": ["a@b.c", "a.b@c.d", "a..b@c.d", ".a@b.c", "a@b", "a@-b.c", "a@b-.c", "a+b@c.co", "\u00e9@a.b", "a@b@c.d", "A@B.CO"],
    "hostname": ["a", "a.b", "a-.b", "-a", "a..b", "a.", "." , "a" * 63, "a" * 64, ".".join(["a" * 63] * 4), "xn--d1acufc.xn--p1ai", "a_b"],
    "ipv4": ["1.2.3.4", "01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5", "0.0.0.0", "1.2.3.4 "],
    "ipv6": ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "1::2::3", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "12345::", "::01.2.3.4", "FE80::1", ":1::"],
    "regex": ["a+", "(", "\\Z", "a\\Z", "\\\\Z", "[z-a]", "a{2,1}", "{", "a{", "\\k<a>", "(?<a>x)\\k<a>", "\\p{L}", "(?=a)*", "(?<=a)*", "\\c", "[\\d-a]", "\\1", "]", "(?i:a)"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "urn:uuid:123e4567-e89b-12d3-a456-426614174000", "URN:UUID:123E4567-E89B-12D3-A456-426614174000", "123e4567e89b12d3a456426614174000", "g23e4567-e89b-12d3-a456-426614174000"],
    "json-pointer": ["", "/", "/a~0b~1c", "/a~2", "a", "/~", "//"],
    "json-pointer-uri-fragment": ["#", "#/a", "#/a%20b", "#/a b", "#a", "#/%zz", "#/~1"],
    "relative-json-pointer": ["0", "1#", "01", "2/a/b", "1/~", "-1", "0#/a"],
    "byte": ["", "QUJD", "QUI=", "QQ==", "QUJ", "Q===", "!!!\nQUJD", "abc\n", "QUJD\r\n!!!!", "Q Q="],
}
FORMAT_ALPHABET = "aZ09-:./@#%?=~[]{}+*,'\" _\\\tT\nPWYMDHS\u00e9"
NUMBER_FORMATS = ["int32", "int64", "float", "double"]
NUMBERS: list[Any] = [0, 1, -1, 1.0, 1.5, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53, 1e300, True, "1", None]

PATTERNS = [
    "^a+$", "a|b", "^\\d{3}$", "\\w+", "^.$", "^[^]$", "[]", "\\bfoo\\b", "^\\s*$", "(a)\\1", "\\k<n>(?<n>x)",
    "(?<=a)b", "(?<!a)b", "^\\p{Lu}", "\\P{L}", "\\p{Script=Latin}+", "\\u{1F600}", "[\\u{1F600}-\\u{1F64F}]",
    "^\\ud83d\\ude00$", "(", "[", "a{2,1}", "a{,2}", "{", "}", "]", "\\-", "[\\-]", "\\Z", "\\01", "\\0",
    "(?i)a", "\\cA", "\\c1", "[\\c1]", "\\x4", "\\u12", "\\p{Lower}", "\\p{lu}", "a**", "a{1}{2}", "(?:a|)+$",
    "[a-z]{2,}", "^[A-Z][a-z]*$", "\\.", "\\/", "$^", "a$", "^$", "\\D\\W\\S", "[\\D]", "[^\\d\\s]",
    "(?<a>x)(?<a>y)", "(?<1a>x)", "(?<$a>x)\\k<$a>", "\\k<x>", "(?=a)b", "x(?!y)",
]
SUBJECTS = ["", "a", "aa", "b", "ab", "123", "12", "foo bar", " foo ", "x", "xy", "\n", "\u00e9", "A", "Ab", "\U0001F600", "\u00a0", "-", "a\n", "α", "Ω"]


def _mutate(rng: random.Random, s: str) -> str:
    chars = list(s)
    for _ in range(rng.randint(1, 2)):
        op = rng.randrange(3)
        pos = rng.randint(0, len(chars))
        if op == 0 or not chars:
            chars.insert(pos, rng.choice(FORMAT_ALPHABET))
        elif op == 1:
            del chars[min(pos, len(chars) - 1)]
        else:
            chars[min(pos, len(chars) - 1)] = rng.choice(FORMAT_ALPHABET)
    return "".join(chars)


def format_cases(rng: random.Random, mutations: int) -> list[tuple[Any, Any]]:
    cases: list[tuple[Any, Any]] = []
    for name, seeds in FORMAT_SEEDS.items():
        for seed in seeds:
            cases.append(({"type": "string", "format": name}, seed))
        for _ in range(mutations):
            cases.append(({"type": "string", "format": name}, _mutate(rng, rng.choice(seeds))))
        cases.append(({"format": name}, 5))
    for name in NUMBER_FORMATS:
        for n in NUMBERS:
            cases.append(({"format": name}, n))
    for name in ("password", "binary"):
        cases.append(({"format": name}, "x"))
    return cases


def pattern_cases(rng: random.Random, count: int) -> list[tuple[Any, Any]]:
    cases: list[tuple[Any, Any]] = []
    for _ in range(count):
        cases.append(({"pattern": rng.choice(PATTERNS)}, rng.choice(SUBJECTS)))
    for p in PATTERNS:
        cases.append(({"type": "object", "patternProperties": {p: {"type": "integer"}}}, {rng.choice(SUBJECTS): "s"}))
    return cases


SCHEMA_PIECES: list[dict[str, Any]] = [
    {"type": "integer"}, {"type": "number"}, {"type": ["string", "null"]}, {"type": "strin"},
    {"multipleOf": 0.1}, {"multipleOf": 3}, {"multipleOf": 0}, {"maximum": 10}, {"exclusiveMinimum": 1},
    {"exclusiveMaximum": True}, {"minLength": 2}, {"maxLength": 1.5}, {"enum": [1, "1", True, None, [1], {"a": 1}]},
    {"enum": []}, {"const": 1}, {"const": {"a": [1, 2]}}, {"uniqueItems": True}, {"items": {"type": "number"}},
    {"items": [{"type": "string"}], "additionalItems": False}, {"additionalItems": False}, {"contains": {"const": 1}},
    {"required": ["a"]}, {"required": ["a", "a"]}, {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
    {"propertyNames": {"maxLength": 1}}, {"minProperties": 1}, {"dependencies": {"a": ["b"]}},
    {"if": {"type": "string"}, "then": {"minLength": 2}}, {"if": {"type": "string"}}, {"else": {"type": "string"}},
    {"not": {"type": "null"}}, {"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"allOf": [{"minimum": 1}, {"maximum": 5}]}, {"nullable": True, "type": "string"}, {"nullable": True},
    {"$ref": "#/definitions/n", "definitions": {"n": {"type": "number"}}}, {"$ref": "#/definitions/missing"},
    {"definitions": {"x": {"bogus": 1}}}, {"bogus": 1}, {"format": "nope"}, {"$comment": "x"}, {"title": "t", "default": 3},
    {"$schema": "http://json-schema.org/draft-07/schema#"}, {"$schema": "http://json-schema.org/draft-04/schema#"},
    {"anyOf": [True, {"format": "nope"}]}, {"id": "x"}, {"$id": "http://e.com/s", "$ref": "#/definitions/a", "definitions": {"a": {}}},
    {"format": "date", "formatMinimum": "2020-01-01"}, {"formatMinimum": "2020-01-01"}, {"format": "email", "formatMaximum": "a"},
]
VALUES: list[Any] = [None, True, False, 0, 1, 1.0, 1.5, 0.3, 0.5, 3, -7, 2**53 + 1, 1e21, "", "a", "ab", "1", [], [1, 1.0], [1, True],
                     [{"a": 1, "b": 2}, {"b": 2, "a": 1}], ["x", 1], {}, {"a": 1}, {"a": "s", "b": 2}, {"ab": 1}]


def mixed_cases(rng: random.Random, count: int) -> list[tuple[Any, Any]]:
    cases: list[tuple[Any, Any]] = []
    for _ in range(count):
        schema: dict[str, Any] = {}
        for piece in rng.sample(SCHEMA_PIECES, rng.randint(1, 2)):
            schema.update(piece)
        cases.append((schema, rng.choice(VALUES)))
    return cases


def all_cases(seed: int = 7, mutations: int = 6, patterns: int = 120, mixed: int = 150) -> list[tuple[Any, Any]]:
    rng = random.Random(seed)
    return format_cases(rng, mutations) + pattern_cases(rng, patterns) + mixed_cases(rng, mixed)
