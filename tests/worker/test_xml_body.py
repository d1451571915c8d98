"""XML bodies as xml-js ``xml2js(text, {compact: true})`` (Mockoon's parser) gives them.

Each expectation is what xml-js 1.6.11 answered under Node: the JSON text of the result,
``CIRCULAR`` and V8's message where elements were left open, ``None`` where it throws.
"""

from __future__ import annotations

import pytest

from worker.jsvalues import CircularStructureError, json_stringify
from worker.xml_body import XmlBodyError, parse_xml

CASES = [
    ("<a>x</a>", "{\"a\":{\"_text\":\"x\"}}"),
    ("<a>x</b>", None),
    ("<broken><xml>", "CIRCULAR Converting circular structure to JSON\n    --> starting at object with constructor 'Object'\n    |     property 'broken' -> object with constructor 'Object'\n    --- property '_parent' closes the circle"),
    ("<a><b>t</b>tail<b>u</b></a>", "{\"a\":{\"b\":[{\"_text\":\"t\"},{\"_text\":\"u\"}],\"_text\":\"tail\"}}"),
    ("text<a/>", None),
    ("<a/>text", None),
    ("<a/><b/>", "{\"a\":{},\"b\":{}}"),
    ("", "{}"),
    ("  ", "{}"),
    ("<a x=1/>", None),
    ("<a x=\"1\" x=\"2\"/>", "{\"a\":{\"_attributes\":{\"x\":\"1\"}}}"),
    ("<a>&amp;&lt;&foo;</a>", None),
    ("<a>&#65;&#x42;</a>", "{\"a\":{\"_text\":\"AB\"}}"),
    ("<!-- c --><a><!--in--></a>", "{\"_comment\":\" c \",\"a\":{\"_comment\":\"in\"}}"),
    ("<!DOCTYPE html><a/>", "{\"_doctype\":\"html\",\"a\":{}}"),
    ("<?pi body ?><a/>", "{\"_instruction\":{\"pi\":\"body \"},\"a\":{}}"),
    ("<a>  </a>", "{\"a\":{}}"),
    ("<a> x </a>", "{\"a\":{\"_text\":\" x \"}}"),
    ("<a><![CDATA[x]]>y<![CDATA[z]]></a>", "{\"a\":{\"_cdata\":[\"x\",\"z\"],\"_text\":\"y\"}}"),
    ("<a><b></a>", None),
    ("<a:b c:d=\"1\"/>", "{\"a:b\":{\"_attributes\":{\"c:d\":\"1\"}}}"),
    ("<a>x<b/>y</a>", "{\"a\":{\"_text\":[\"x\",\"y\"],\"b\":{}}}"),
    ("<?xml version=\"1.0\"?>", "{\"_declaration\":{\"_attributes\":{\"version\":\"1.0\"}}}"),
    ("<a><b><c>", "CIRCULAR Converting circular structure to JSON\n    --> starting at object with constructor 'Object'\n    |     property 'a' -> object with constructor 'Object'\n    --- property '_parent' closes the circle"),
    ("<a k=\"v\"><b>", "CIRCULAR Converting circular structure to JSON\n    --> starting at object with constructor 'Object'\n    |     property 'a' -> object with constructor 'Object'\n    --- property '_parent' closes the circle"),
    ("<a>1</a><!--after-->", "{\"a\":{\"_text\":\"1\"},\"_comment\":\"after\"}"),
    ("<a>-- -- </a>", "{\"a\":{\"_text\":\"-- -- \"}}"),
    ("<!-- a -- b --><a/>", None),
    ("<a\n  x=\"1\"\n/>", "{\"a\":{\"_attributes\":{\"x\":\"1\"}}}"),
    ("<1a/>", None),
    ("< a/>", "{\"a\":{}}"),
    ("<a>x<</a>", None),
    ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><root a=\"1\"><item>x</item><item>y</item><empty/></root>", "{\"_declaration\":{\"_attributes\":{\"version\":\"1.0\",\"encoding\":\"UTF-8\"}},\"root\":{\"_attributes\":{\"a\":\"1\"},\"item\":[{\"_text\":\"x\"},{\"_text\":\"y\"}],\"empty\":{}}}"),
    ("<soap:Envelope xmlns:soap=\"http://x\"><soap:Body><v>1</v></soap:Body></soap:Envelope>", "{\"soap:Envelope\":{\"_attributes\":{\"xmlns:soap\":\"http://x\"},\"soap:Body\":{\"v\":{\"_text\":\"1\"}}}}"),
    ("<a>&amp</a>", None),
    ("<a b='x&amp;y'/>", "{\"a\":{\"_attributes\":{\"b\":\"x&y\"}}}"),
    ("<a><b/><c/><b/></a>", "{\"a\":{\"b\":[{},{}],\"c\":{}}}"),
    ("<a>\n  <b>1</b>\n</a>", "{\"a\":{\"b\":{\"_text\":\"1\"}}}"),
    ("<a><!DOCTYPE x></a>", None),
    ("<a>x</a >", "{\"a\":{\"_text\":\"x\"}}"),
    ("</a>", None),
    ("<a></a></a>", None),
    ("<a>]]></a>", "{\"a\":{\"_text\":\"]]>\"}}"),
    ("<a><?pi x?></a>", "{\"a\":{\"_instruction\":{\"pi\":\"x\"}}}"),
    ("<x:a><x:b>t</x:b></x:a>", "{\"x:a\":{\"x:b\":{\"_text\":\"t\"}}}"),
    ("<a>&#0;</a>", None),
    ("<a>é</a>", "{\"a\":{\"_text\":\"é\"}}"),
    ("<?xml version='1.0'?><a/>", "{\"_declaration\":{\"_attributes\":{\"version\":\"1.0\"}},\"a\":{}}"),
    ("<a b=\"1\"c=\"2\"/>", None),
    ("<a b = \"1\" />", "{\"a\":{\"_attributes\":{\"b\":\"1\"}}}"),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_xml_body_matches_xml_js(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(XmlBodyError):
            parse_xml(text)
        return
    result = parse_xml(text)
    try:
        ours = json_stringify(result)
    except CircularStructureError as error:
        ours = f"CIRCULAR {error}"
    assert ours == expected
