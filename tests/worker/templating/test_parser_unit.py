"""The lexer and the parser's error messages, without node: expectations produced by
Handlebars.js 4.7.9 (``Handlebars.parse``), the version Mockoon CLI 9.9.0 ships."""

from __future__ import annotations

import pytest

from worker.templating import TemplateSyntaxError
from worker.templating.grammar import GRAMMAR
from worker.templating.lexer import Lexer
from worker.templating.parser import parse

HANDLEBARS = [
    ('{{x = 1}}',
     "Parse error on line 1:\n{{x = 1}}\n----^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'EQUALS'"),
    ('{{x=1}}',
     "Parse error on line 1:\n{{x=1}}\n---^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'EQUALS'"),
    ('{{concat "double" \'single\' `back`}}',
     'Parse error on line 1:\n...t "double" \'single\' `back`}}\n-----------------------^\nExpecting \'CLOSE_RAW_BLOCK\', \'CLOSE\', \'CLOSE_UNESCAPED\', \'OPEN_SEXPR\', \'CLOSE_SEXPR\', \'ID\', \'OPEN_BLOCK_PARAMS\', \'STRING\', \'NUMBER\', \'BOOLEAN\', \'UNDEFINED\', \'NULL\', \'DATA\', got \'INVALID\''),
    ("(object foo = 'abc' bar = (base64 'abc'))",
     'OK'),
    ("{{object foo = 'abc' bar = (base64 'abc')}}",
     'OK'),
    ('a\x00b',
     'Lexical error on line 1. Unrecognized text.\na\x00b\n-^'),
    ('{{!--',
     'Lexical error on line 1. Unrecognized text.\n{{!-{{!--\n----^'),
    ('x\n{{!-- a --}}{{/if}}',
     "Parse error on line 2:\nx{{!-{{!-- a --}}{{/if}}\n-----------------^\nExpecting 'EOF', got 'OPEN_ENDBLOCK'"),
    ('{{{{raw}}}}',
     "Parse error on line 1:\n{{{{raw}}}}\n-----------^\nExpecting 'CONTENT', 'END_RAW_BLOCK', got '1'"),
    ('{{{{raw}}}}abc',
     'Lexical error on line 1. Unrecognized text.\n{{{{raw}}}}abc\n-----------^'),
    ('\n\n{{{{raw}}}} {{{{/rww}}}}',
     "raw doesn't match rww - 3:4"),
    ('{{#if a}}x{{/b}}',
     "if doesn't match b - 1:3"),
    ('{{#1.50}}{{/x}}',
     "1.5 doesn't match x - 1:3"),
    ('{{foo.this}}',
     'Invalid path: foo.this - 1:2'),
    ('{{a.b/../c}}',
     'Invalid path: a.b/.. - 1:2'),
    ('{{#*foo}}a{{else}}b{{/foo}}',
     'Unexpected inverse block on decorator'),
    ('{{#> foo}}dflt{{/bar}}',
     "foo doesn't match bar - 1:5"),
    ('😀😀{{x}}}',
     "Parse error on line 1:\n😀😀{{x}}}\n-------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('\\{{x}}}',
     'OK'),
    ('{{x.(y)}}',
     "Parse error on line 1:\n{{x.(y)}}\n----^\nExpecting 'ID', got 'OPEN_SEXPR'"),
    ('{{#each a as |x y|}}{{/each}}}',
     "Parse error on line 1:\n... a as |x y|}}{{/each}}}\n-----------------------^\nExpecting 'CLOSE', got 'CLOSE_UNESCAPED'"),
    ('{{x}}\n\n{{y}}\n{{#if}}',
     "Parse error on line 4:\n{{x}}{{y}}{{#if}}\n-----------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'EOF'"),
    ('{{else}}x',
     "Parse error on line 1:\n{{else}}x\n^\nExpecting 'EOF', 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'INVERSE'"),
    ('{{x y=1 2}}',
     "Parse error on line 1:\n{{x y=1 2}}\n--------^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', got 'NUMBER'"),
    ('{{#if a}}{{else if}}{{/if}}',
     'OK'),
    ('{{x}}\r\n{{y}',
     "Parse error on line 2:\n{{x}}\r{{y}\n---------^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'INVALID'"),
    ('a\n  {{#each x}}\n{{/each}}\n{{/each}}',
     "Parse error on line 4:\n...#each x}}{{/each}}{{/each}}\n---------------------^\nExpecting 'EOF', got 'OPEN_ENDBLOCK'"),
]


@pytest.mark.parametrize("source,expected", HANDLEBARS)
def test_messages_are_handlebars_own(source: str, expected: str) -> None:
    if expected == "OK":
        parse(source)
        return
    with pytest.raises(TemplateSyntaxError) as caught:
        parse(source)
    assert str(caught.value) == expected


def tokens(source: str) -> list[tuple[str, str]]:
    lexer = Lexer(source)
    out = []
    while True:
        token = lexer.next()
        out.append((token.kind, token.text))
        if token.kind in ("EOF", "1"):
            return out


@pytest.mark.parametrize("source,expected", [
    ('a{{b.c d="e\\"f"}}g', [("CONTENT", "a"), ("OPEN", "{{"), ("ID", "b"), ("SEP", "."), ("ID", "c"), ("ID", "d"),
                             ("EQUALS", "="), ("STRING", 'e"f'), ("CLOSE", "}}"), ("CONTENT", "g"), ("EOF", "")]),
    ("\\{{x}}y{{z}}", [("CONTENT", "{{x}}y"), ("OPEN", "{{"), ("ID", "z"), ("CLOSE", "}}"), ("EOF", "")]),
    ("\\\\{{x}}", [("CONTENT", "\\"), ("OPEN", "{{"), ("ID", "x"), ("CLOSE", "}}"), ("EOF", "")]),
    ("{{{{raw}}}} {{{{x}}}} {{{{/x}}}} {{{{/raw}}}}",
     [("OPEN_RAW_BLOCK", "{{{{"), ("ID", "raw"), ("CLOSE_RAW_BLOCK", "}}}}"), ("CONTENT", " "), ("CONTENT", "{{{{"),
      ("CONTENT", "x}}}} "), ("CONTENT", "{{{{/x}}}}"), ("CONTENT", " "), ("END_RAW_BLOCK", "raw"), ("EOF", "")]),
    ("{{~!-- c --~}}{{! d }}", [("COMMENT", "{{~!-- c --~}}"), ("COMMENT", "{{! d }}"), ("EOF", "")]),
    ("{{#each a as |b c|}}{{else}}{{^}}{{/each}}",
     [("OPEN_BLOCK", "{{#"), ("ID", "each"), ("ID", "a"), ("OPEN_BLOCK_PARAMS", "as |"), ("ID", "b"), ("ID", "c"),
      ("CLOSE_BLOCK_PARAMS", "|"), ("CLOSE", "}}"), ("INVERSE", "{{else}}"), ("INVERSE", "{{^}}"),
      ("OPEN_ENDBLOCK", "{{/"), ("ID", "each"), ("CLOSE", "}}"), ("EOF", "")]),
    ("{{[a\\]b] @x ../y -1.5 true null undefined}}",
     [("OPEN", "{{"), ("ID", "[a]b]"), ("DATA", "@"), ("ID", "x"), ("ID", ".."), ("SEP", "/"), ("ID", "y"),
      ("NUMBER", "-1.5"), ("BOOLEAN", "true"), ("NULL", "null"), ("UNDEFINED", "undefined"), ("CLOSE", "}}"),
      ("EOF", "")]),
    ("{{else if x}}{{{y}}}{{&z}}{{> p}}{{#> q}}{{#*inline}}{{*d}}",
     [("OPEN_INVERSE_CHAIN", "{{else"), ("ID", "if"), ("ID", "x"), ("CLOSE", "}}"), ("OPEN_UNESCAPED", "{{{"),
      ("ID", "y"), ("CLOSE_UNESCAPED", "}}}"), ("OPEN", "{{&"), ("ID", "z"), ("CLOSE", "}}"), ("OPEN_PARTIAL", "{{>"),
      ("ID", "p"), ("CLOSE", "}}"), ("OPEN_PARTIAL_BLOCK", "{{#>"), ("ID", "q"), ("CLOSE", "}}"),
      ("OPEN_BLOCK", "{{#*"), ("ID", "inline"), ("CLOSE", "}}"), ("OPEN", "{{*"), ("ID", "d"), ("CLOSE", "}}"),
      ("EOF", "")]),
    ("{{x", [("OPEN", "{{"), ("INVALID", "x"), ("EOF", "")]),  # an ID needs one of =~}\\s/.)| after it
    ("{{{{r}}}}", [("OPEN_RAW_BLOCK", "{{{{"), ("ID", "r"), ("CLOSE_RAW_BLOCK", "}}}}"), ("1", "")]),  # Jison's own EOF
])
def test_lexer_tokens(source: str, expected: list[tuple[str, str]]) -> None:
    assert tokens(source) == expected


def test_grammar_is_numbered_as_jison_numbers_it() -> None:
    """The expected-token lists follow Jison's symbol numbers (Handlebars' parser.js terminals_)."""
    assert [(n, GRAMMAR.names[n]) for n in GRAMMAR.terminals][:6] == [
        (5, "EOF"), (14, "COMMENT"), (15, "CONTENT"), (18, "END_RAW_BLOCK"), (19, "OPEN_RAW_BLOCK"),
        (23, "CLOSE_RAW_BLOCK")]
    assert GRAMMAR.numbers["SEP"] == 87 and len(GRAMMAR.tables.actions) == 139
    assert len(GRAMMAR.tables.defaults) == 17  # states whose one entry is a reduce, taken without a lookahead
