"""Helpers whose answers were checked against Mockoon CLI 9.9.0 (expectations are what it answered)."""

from __future__ import annotations

import re

import pytest

from tests.worker.templating.test_engine import render, server  # noqa: F401 - the shared fixture
from worker.responder import MockServer
from worker.templating.helpers.collation import collation_key


@pytest.mark.parametrize("source,expected", [
    # sort: strings with localeCompare (ICU), numbers numerically
    ("{{sort (array 'b' 'B' 'a' 'A' 'é' 'e' '_' '1' 'Z')}}", "_,1,a,A,b,B,e,é,Z"),
    ("{{sort (array 10 9 100 1)}}|{{sort (array 3 1 2) 'DESC'}}", "1,9,10,100|3,2,1"),
    # reverse takes arrays only; jsonParse strings only; objectMerge of nothing is empty
    ("{{reverse (array 1 2 3)}}|{{reverse 'abc'}}|{{reverse}}", "3,2,1||"),
    ("[{{jsonParse 56}}]{{#with (jsonParse '{\"a\":1}')}}{{a}}{{/with}}", "[]1"),
    ("[{{{stringify (objectMerge)}}}]", "[]"),
    # base64 helpers answer SafeStrings; decoding is Node's lenient Buffer.from(…, 'base64')
    ("{{base64 'a'}}|{{base64urlDecode 'c3ViamVjdHM_X2Q9MQ'}}", "YQ==|subjects?_d=1"),
    ("{{base64Decode 'YQ=='}}{{base64Decode 'Y*Q'}}|{{base64Decode 'YWJj_-'}}|{{base64Decode 'w'}}", "aa|abc\ufffd|"),
    # Handlebars with Mockoon's helperMissing: an unknown block name renders its block
    ("{{#unknown}}x{{else}}y{{/unknown}}|{{^unknown}}x{{/unknown}}|{{^a.b}}x{{/a.b}}", "x||x"),
    ("{{^if true}}x{{else}}y{{/if}}", "y"),
    # faker-js 9 date options: refDate in an options object; positional arguments are ignored
    ("{{dateFormat (faker 'date.recent' (object refDate='2022-01-10T00:00:00.000Z' days=1)) 'yyyy'}}", "2022"),
])
def test_helper_answers_like_mockoon(server: MockServer, source: str, expected: str) -> None:  # noqa: F811
    assert render(server, source) == expected


def test_legacy_lorem_is_a_latin_sentence_of_the_given_length(server: MockServer) -> None:  # noqa: F811
    sentence = render(server, "{{lorem 3}}")
    assert re.fullmatch(r"[A-Z][a-z]+( [a-z]+){2}\.", sentence), sentence
    assert 3 <= len(render(server, "{{lorem}}").split()) <= 10


def test_js_date_strings_name_utc_as_node_does(server: MockServer) -> None:  # noqa: F811
    text = render(server, "{{faker 'date.soon' refDate='2022-01-10T00:00:00.000Z'}}")
    assert re.fullmatch(r"Mon Jan 10 2022 \d\d:\d\d:\d\d GMT[+-]\d{4} \(.+\)", text) or "Jan 1" in text, text


def test_collation_orders_like_icu() -> None:
    # the order Node's localeCompare gave for these words
    expected = ["a", "A", "á", "Á", "ä", "a b", "a_b", "a-b", "ab", "aB", "Ab", "ab1", "ab10", "ab2", "ae", "æ",
                "az", "b", "e", "E", "é", "n", "ñ", "o", "ø", "œ", "ss", "ß"]
    assert sorted(reversed(expected), key=collation_key) == expected
