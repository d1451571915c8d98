"""XML request bodies in the shape Mockoon gives them to templates and rules.

Mockoon parses XML bodies with xml-js ``xml2js(text, {compact: true})`` on top of sax in
strict mode: ``_declaration``, ``_attributes``, ``_text``, ``_cdata``, ``_comment``,
``_instruction``, ``_doctype``, element names as written (``soap:Envelope``, no namespace
expansion), a key repeated in one element becomes an array, whitespace-only text is dropped.
A malformed document throws (the body stays unparsed); elements still open at the end keep
the ``_parent`` link xml-js gives every element while it is open, so such a body is a
circular structure that ``JSON.stringify`` refuses, as in Mockoon.
"""

from __future__ import annotations

import re
from typing import Any


class XmlBodyError(ValueError):
    """The document is not well-formed enough for sax in strict mode."""


_NAME = re.compile(r"[^\s/>=<\"'!?][^\s/>=<\"']*")
_ATTRIBUTE = re.compile(r"\s*([^\s/>=<\"']+)\s*=\s*")
_DECLARATION_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|(\w+))\s*")
_ENTITY = re.compile(r"&([^;&\s<]*);?")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _decode(text: str) -> str:
    if "&" not in text:
        return text

    def entity(match: re.Match[str]) -> str:
        name = match.group(1)
        if not match.group(0).endswith(";"):
            raise XmlBodyError("Invalid character entity")
        if name in _NAMED:
            return _NAMED[name]
        try:
            if name.startswith("#x") or name.startswith("#X"):
                code = int(name[2:], 16)
            elif name.startswith("#"):
                code = int(name[1:], 10)
            else:
                code = 0
            if 0 < code <= 0x10FFFF:
                return chr(code)
        except (ValueError, OverflowError):
            pass
        raise XmlBodyError("Invalid character entity")

    return _ENTITY.sub(entity, text)


class _Builder:
    """xml-js' compact-mode handlers: add fields to the current element."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}
        self.current = self.root
        self.open: list[str] = []
        self.seen_root = False

    def add(self, key: str, value: Any) -> None:
        element = self.current
        if key in element and not isinstance(element[key], list):
            element[key] = [element[key]]
        if isinstance(element.get(key), list):
            element[key].append(value)
        else:
            element[key] = value

    def start(self, name: str, attributes: dict[str, str]) -> None:
        element: dict[str, Any] = {"_attributes": attributes} if attributes else {}
        self.add(name, element)
        element["_parent"] = self.current  # dropped when the element closes
        self.current = element
        self.open.append(name)
        self.seen_root = True

    def end(self, name: str) -> None:
        if not self.open:
            raise XmlBodyError(f"Unmatched closing tag: {name}")
        if self.open[-1] != name:
            raise XmlBodyError("Unexpected close tag" if name in self.open else f"Unmatched closing tag: {name}")
        self.open.pop()
        parent = self.current.pop("_parent")
        self.current = parent

    def text(self, text: str) -> None:
        if not text.strip():
            return
        if not self.open:
            raise XmlBodyError("Text data outside of root node.")
        self.add("_text", _decode(text))


def parse_xml(text: str) -> dict[str, Any]:
    """``xml2js(text, {compact: true})``; raises ``XmlBodyError`` where xml-js throws."""
    out = _Builder()
    pos, size = 0, len(text)
    if text.startswith("\ufeff"):
        pos = 1
    while pos < size:
        lt = text.find("<", pos)
        if lt < 0:
            out.text(text[pos:])
            break
        if lt > pos:
            out.text(text[pos:lt])
        pos = _markup(text, lt, out)
    return out.root


def _markup(text: str, lt: int, out: _Builder) -> int:
    """Read the construct that starts at ``text[lt] == '<'``; return the position after it."""
    if text.startswith("<!--", lt):
        end = text.find("-->", lt + 4)
        if end < 0:
            raise XmlBodyError("Unexpected end")
        body = text[lt + 4:end]
        if "--" in body:
            raise XmlBodyError("Malformed comment")
        out.add("_comment", body)
        return end + 3
    if text.startswith("<![CDATA[", lt):
        end = text.find("]]>", lt + 9)
        if end < 0:
            raise XmlBodyError("Unexpected end")
        out.add("_cdata", text[lt + 9:end])
        return end + 3
    if text.startswith("<!DOCTYPE", lt):
        if out.open:
            raise XmlBodyError("Inappropriately located doctype declaration")
        return _doctype(text, lt, out)
    if text.startswith("<?", lt):
        end = text.find("?>", lt + 2)
        if end < 0:
            raise XmlBodyError("Unexpected end")
        name, _, body = text[lt + 2:end].partition(" ")
        body = body.lstrip()
        if name.lower() == "xml":
            declared = {m.group(1): m.group(2) or m.group(3) or m.group(4) or ""
                        for m in _DECLARATION_ATTRIBUTE.finditer(body)}
            out.current["_declaration"] = {"_attributes": declared} if declared else {}
        else:
            out.add("_instruction", {name: body})
        return end + 2
    pos = lt + 1
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if text.startswith("/", pos):
        end = text.find(">", pos)
        if end < 0:
            raise XmlBodyError("Unexpected end")
        out.end(text[pos + 1:end].strip())
        return end + 1
    match = _NAME.match(text, pos)
    if match is None or not (match.group(0)[0].isalpha() or match.group(0)[0] in "_:"):
        if out.open:
            raise XmlBodyError("Unencoded <")
        raise XmlBodyError("Text data outside of root node.")
    name = match.group(0)
    pos = match.end()
    attributes: dict[str, str] = {}
    while True:
        spaced = pos < len(text) and text[pos].isspace()
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            raise XmlBodyError("Unexpected end")
        if text.startswith("/>", pos):
            out.start(name, attributes)
            out.end(name)
            return pos + 2
        if text[pos] == ">":
            out.start(name, attributes)
            return pos + 1
        if attributes and not spaced:
            raise XmlBodyError("No whitespace between attributes")
        attribute = _ATTRIBUTE.match(text, pos)
        if attribute is None:
            raise XmlBodyError("Invalid attribute name")
        pos = attribute.end()
        quote = text[pos:pos + 1]
        if quote not in ("'", '"'):
            raise XmlBodyError("Unquoted attribute value")
        close = text.find(quote, pos + 1)
        if close < 0:
            raise XmlBodyError("Unexpected end")
        attributes.setdefault(attribute.group(1), _decode(text[pos + 1:close]))  # the first one wins
        pos = close + 1


def _doctype(text: str, lt: int, out: _Builder) -> int:
    depth, pos = 0, lt + 9
    while pos < len(text):
        ch = text[pos]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth <= 0:
            body = text[lt + 9:pos]
            out.add("_doctype", body[1:] if body.startswith(" ") else body)
            return pos + 1
        pos += 1
    raise XmlBodyError("Unexpected end")
