"""Broken templates give Handlebars.js's own parse errors (Jison's message: line, the text
around the token with a caret, the tokens that parser state accepts, the token found).
The expected texts were produced by handlebars 4.7.8, the version Mockoon 9.9 ships."""

from __future__ import annotations

import pytest

from worker.templating import TemplateSyntaxError
from worker.templating.parser import parse

REFERENCE = [
    ('{{#each a}}{{else}}x{{else}}{{/each}}', "Parse error on line 1:\n{{#each a}}{{else}}x{{else}}{{/each}}\n--------------------^\nExpecting 'OPEN_ENDBLOCK', got 'INVERSE'"),
    ('x{{/if}}', "Parse error on line 1:\nx{{/if}}\n-^\nExpecting 'EOF', got 'OPEN_ENDBLOCK'"),
    ('x{{else}}', "Parse error on line 1:\nx{{else}}\n-^\nExpecting 'EOF', got 'INVERSE'"),
    ('{{#if a}}x{{else}}x{{else if c}}{{/if}}', "Parse error on line 1:\n{{#if a}}x{{else}}x{{else if c}}{{/if}}\n-------------------^\nExpecting 'OPEN_ENDBLOCK', got 'OPEN_INVERSE_CHAIN'"),
    ('{{^if a}}x{{^}}y{{^}}{{/if}}', "Parse error on line 1:\n{{^if a}}x{{^}}y{{^}}{{/if}}\n----------------^\nExpecting 'OPEN_ENDBLOCK', got 'INVERSE'"),
    ('{{#if a}}x', "Parse error on line 1:\n{{#if a}}x\n----------^\nExpecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{#if a}}{{x}}', "Parse error on line 1:\n{{#if a}}{{x}}\n--------------^\nExpecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{#if a}}{{else}}x', "Parse error on line 1:\n{{#if a}}{{else}}x\n------------------^\nExpecting 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{^if a}}x', "Parse error on line 1:\n{{^if a}}x\n----------^\nExpecting 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{#if a}}{{x}}{{else}}{{y}}', "Parse error on line 1:\n...}}{{x}}{{else}}{{y}}\n-----------------------^\nExpecting 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{#if a}}{{#if b}}{{/if}}', "Parse error on line 1:\n... a}}{{#if b}}{{/if}}\n-----------------------^\nExpecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{#if a}}{{!c}}', "Parse error on line 1:\n{{#if a}}{{!c}}\n---------------^\nExpecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{#if a}}x{{else if b}}y', "Parse error on line 1:\n...f a}}x{{else if b}}y\n-----------------------^\nExpecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{^}}', "Parse error on line 1:\n{{^}}\n^\nExpecting 'EOF', 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'INVERSE'"),
    ('{{#if a}}{{^}}{{^}}{{/if}}', "Parse error on line 1:\n{{#if a}}{{^}}{{^}}{{/if}}\n--------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'INVERSE'"),
    ('{{x}}}', "Parse error on line 1:\n{{x}}}\n---^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{x y}}}', "Parse error on line 1:\n{{x y}}}\n-----^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{x y=1}}}', "Parse error on line 1:\n{{x y=1}}}\n-------^\nExpecting 'CLOSE', got 'CLOSE_UNESCAPED'"),
    ('a\nb{{#if a}}}{{/if}}', "Parse error on line 2:\nab{{#if a}}}{{/if}}\n---------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{x (y)}}}', "Parse error on line 1:\n{{x (y)}}}\n-------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{#if a}}', "Parse error on line 1:\n{{#if a}}\n---------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'EOF'"),
    ('{{/if}}', "Parse error on line 1:\n{{/if}}\n^\nExpecting 'EOF', 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'OPEN_ENDBLOCK'"),
    ('{{{x}}', "Parse error on line 1:\n{{{x}}\n----^\nExpecting 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{#each a}}{{else}}{{else}}{{/each}}', "Parse error on line 1:\n{{#each a}}{{else}}{{else}}{{/each}}\n-------------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'INVERSE'"),
    ('{{#if a b=1}}}', "Parse error on line 1:\n{{#if a b=1}}}\n-----------^\nExpecting 'CLOSE', 'OPEN_BLOCK_PARAMS', got 'CLOSE_UNESCAPED'"),
    ('{{#if a}}{{else}}', "Parse error on line 1:\n{{#if a}}{{else}}\n-----------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'EOF'"),
    ('{{#if a}}x{{else if b}}', "Parse error on line 1:\n...if a}}x{{else if b}}\n-----------------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'EOF'"),
    ('{{{x y=1}}', "Parse error on line 1:\n{{{x y=1}}\n--------^\nExpecting 'CLOSE_UNESCAPED', got 'CLOSE'"),
    ('{{#if a}}\n{{x}}}', "Parse error on line 2:\n{{#if a}}{{x}}}\n------------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{x (y z=1)}}}', "Parse error on line 1:\n{{x (y z=1)}}}\n-----------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{x}} {{y}}}{{z}}aaaaaaaaaaaaaaaaaaaaaaaaaaa', "Parse error on line 1:\n{{x}} {{y}}}{{z}}aaaaaaaaaaaa\n---------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{#if a}}{{#each b}}', "Parse error on line 1:\n{{#if a}}{{#each b}}\n--------------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'EOF'"),
    ('{{^if a}}', "Parse error on line 1:\n{{^if a}}\n---------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'EOF'"),
    ('{{x "s"}}}', 'Parse error on line 1:\n{{x "s"}}}\n-------^\nExpecting \'CLOSE\', \'OPEN_SEXPR\', \'ID\', \'STRING\', \'NUMBER\', \'BOOLEAN\', \'UNDEFINED\', \'NULL\', \'DATA\', got \'CLOSE_UNESCAPED\''),
    ('{{x @y}}}', "Parse error on line 1:\n{{x @y}}}\n------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{#if a}}{{/if}}}', "Parse error on line 1:\n{{#if a}}{{/if}}}\n--------------^\nExpecting 'CLOSE', got 'CLOSE_UNESCAPED'"),
    ('{{else}}', "Parse error on line 1:\n{{else}}\n^\nExpecting 'EOF', 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'INVERSE'"),
    ('{{#if a}}{{else}}{{else if b}}{{/if}}', "Parse error on line 1:\n{{#if a}}{{else}}{{else if b}}{{/if}}\n-----------------^\nExpecting 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN_ENDBLOCK', 'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK', got 'OPEN_INVERSE_CHAIN'"),
    ('{{#if a as |x|}}}{{/if}}', "Parse error on line 1:\n{{#if a as |x|}}}{{/if}}\n--------------^\nExpecting 'CLOSE', got 'CLOSE_UNESCAPED'"),
    ('{{x~}}}', 'OK'),
    ('{{{x}}}}', "Parse error on line 1:\n{{{x}}}}\n----^\nExpecting 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_RAW_BLOCK'"),
    ('{{#if a}}{{else}}}{{/if}}', 'OK'),
    ('{{#each a}}{{else if b}}}{{/each}}', "Parse error on line 1:\n...#each a}}{{else if b}}}{{/each}}\n-----------------------^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{&x}}}', "Parse error on line 1:\n{{&x}}}\n----^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_UNESCAPED'"),
    ('{{x}}}}', "Parse error on line 1:\n{{x}}}}\n---^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_RAW_BLOCK'"),
    ('{{! c }}}', 'OK'),
    ('{{!-- c --}}}', 'OK'),
    ('[{{#repeat 2}}{"id": {{@index}}}{{/repeat}}]', 'Parse error on line 1:\n...t 2}}{"id": {{@index}}}{{/repeat}}]\n-----------------------^\nExpecting \'CLOSE\', \'OPEN_SEXPR\', \'ID\', \'STRING\', \'NUMBER\', \'BOOLEAN\', \'UNDEFINED\', \'NULL\', \'DATA\', got \'CLOSE_UNESCAPED\''),
    ('line1\nline2 {{#each x}}\n  {{name}}\n', "Parse error on line 4:\n...each x}}  {{name}}\n---------------------^\nExpecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"),
    ('{{}}', "Parse error on line 1:\n{{}}\n--^\nExpecting 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x y=}}', "Parse error on line 1:\n{{x y=}}\n------^\nExpecting 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x ]}}', "Parse error on line 1:\n{{x ]}}\n----^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'INVALID'"),
    ('{{x "a}}', 'Parse error on line 1:\n{{x "a}}\n----^\nExpecting \'CLOSE_RAW_BLOCK\', \'CLOSE\', \'CLOSE_UNESCAPED\', \'OPEN_SEXPR\', \'CLOSE_SEXPR\', \'ID\', \'OPEN_BLOCK_PARAMS\', \'STRING\', \'NUMBER\', \'BOOLEAN\', \'UNDEFINED\', \'NULL\', \'DATA\', \'SEP\', got \'INVALID\''),
    ('{{x (y}}', "Parse error on line 1:\n{{x (y}}\n------^\nExpecting 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x y)}}', "Parse error on line 1:\n{{x y)}}\n-----^\nExpecting 'CLOSE', 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE_SEXPR'"),
    ('{{#}}', "Parse error on line 1:\n{{#}}\n---^\nExpecting 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x', "Parse error on line 1:\n{{x\n--^\nExpecting 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'INVALID'"),
    ('text {{', "Parse error on line 1:\ntext {{\n-------^\nExpecting 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'EOF'"),
    ('{{x y z=1 w}}', "Parse error on line 1:\n{{x y z=1 w}}\n-----------^\nExpecting 'EQUALS', got 'CLOSE'"),
    ('{{x =}}', "Parse error on line 1:\n{{x =}}\n----^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'EQUALS'"),
    ('{{@}}', "Parse error on line 1:\n{{@}}\n---^\nExpecting 'ID', got 'CLOSE'"),
    ('{{x (}}', "Parse error on line 1:\n{{x (}}\n-----^\nExpecting 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{#if a ]}}{{/if}}', "Parse error on line 1:\n{{#if a ]}}{{/if}}\n--------^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'EQUALS', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'INVALID'"),
    ('{{{x ]}}}', "Parse error on line 1:\n{{{x ]}}}\n-----^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'INVALID'"),
    ('{{x y', "Parse error on line 1:\n{{x y\n----^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'INVALID'"),
    ('{{x "s"', 'Parse error on line 1:\n{{x "s"\n-------^\nExpecting \'CLOSE_RAW_BLOCK\', \'CLOSE\', \'CLOSE_UNESCAPED\', \'OPEN_SEXPR\', \'CLOSE_SEXPR\', \'ID\', \'OPEN_BLOCK_PARAMS\', \'STRING\', \'NUMBER\', \'BOOLEAN\', \'UNDEFINED\', \'NULL\', \'DATA\', got \'EOF\''),
    ('{{#each x as |a b}}{{/each}}', "Parse error on line 1:\n{{#each x as |a b}}{{/each}}\n-----------------^\nExpecting 'ID', 'CLOSE_BLOCK_PARAMS', got 'CLOSE'"),
    ('{{  }}', "Parse error on line 1:\n{{  }}\n----^\nExpecting 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x y=1 z}}', "Parse error on line 1:\n{{x y=1 z}}\n---------^\nExpecting 'EQUALS', got 'CLOSE'"),
    ('{{#if a}}{{x ]}}{{/if}}', "Parse error on line 1:\n{{#if a}}{{x ]}}{{/if}}\n-------------^\nExpecting 'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP', got 'INVALID'"),
    ('{{#each (x}}{{/each}}', "Parse error on line 1:\n{{#each (x}}{{/each}}\n----------^\nExpecting 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x (y z=}}', "Parse error on line 1:\n{{x (y z=}}\n---------^\nExpecting 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE'"),
    ('{{x.y.}}', 'OK'),
]


@pytest.mark.parametrize("source,expected", REFERENCE)
def test_parse_errors_match_handlebars_js(source: str, expected: str) -> None:
    if expected == "OK":
        parse(source)
        return
    with pytest.raises(TemplateSyntaxError) as caught:
        parse(source)
    assert str(caught.value) == expected
