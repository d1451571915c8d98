"""The request as rules and helpers see it: plain data, built once per request, no I/O.

Query strings parse like Express 4's ``qs`` (nested keys, arrays); bodies parse by
Content-Type like Mockoon (JSON and ``+json``, url-encoded, multipart, XML in xml-js'
compact shape), after undoing gzip/deflate/br/zstd content encodings.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote, unquote_plus
from xml.etree import ElementTree

from .templating.jsvalues import UNDEFINED


class BodyTooLarge(Exception):
    """The (decoded) body is over the configured limit: answered with 413."""


class BadContentEncoding(Exception):
    """The body's Content-Encoding could not be undone."""


class BodyTooDeep(Exception):
    """The body nests deeper than Python's parsers recurse (``[`` 100,000 times): it is served
    as unparsed text, as an unparsable body is; ``text`` is that text."""

    def __init__(self, text: str) -> None:
        super().__init__("request body nested too deeply to parse")
        self.text = text


# --- query strings (qs) ------------------------------------------------------------------------

_QS_KEY = re.compile(r"\[([^\[\]]*)\]")
_MAX_ARRAY_INDEX = 20


def _qs_assign(target: dict[str, Any], keys: list[str], value: Any) -> None:
    key = keys[0]
    rest = keys[1:]
    if not rest:
        if key == "" and isinstance(target, dict):
            return
        if key in target:
            existing = target[key]
            target[key] = existing + [value] if isinstance(existing, list) else [existing, value]
        else:
            target[key] = value
        return
    child = target.get(key)
    nxt = rest[0]
    if nxt == "" and len(rest) == 1:
        if isinstance(child, list):
            child.append(value)
        elif child is None:
            target[key] = [value]
        elif isinstance(child, dict):
            child[str(len(child))] = value
        else:
            target[key] = [child, value]
        return
    if nxt.isdigit() and int(nxt) <= _MAX_ARRAY_INDEX and len(rest) == 1:
        if child is None:
            target[key] = child = []
        if isinstance(child, list):
            index = int(nxt)
            if index >= len(child):
                child.append(value)
            else:
                child.insert(index, value)
            return
    if not isinstance(child, dict):
        child = {str(i): v for i, v in enumerate(child)} if isinstance(child, list) else ({} if child is None else {"0": child})
        target[key] = child
    _qs_assign(child, rest, value)


def parse_qs(text: str, depth: int = 5) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if not text:
        return result
    for pair in text.split("&")[:1000]:
        if not pair:
            continue
        raw_key, sep, raw_value = pair.partition("=")
        key = unquote_plus(raw_key)
        value = unquote_plus(raw_value) if sep else ""
        if not key:
            continue
        bracket = key.find("[")
        if bracket > 0 and _QS_KEY.search(key, bracket):
            parent = key[:bracket]
            segments = _QS_KEY.findall(key[bracket:])[:depth]
            _qs_assign(result, [parent, *segments], value)
        else:
            _qs_assign(result, [key], value)
    return result


# --- cookies ------------------------------------------------------------------------------------


def parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name = name.strip()
        value = value.strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        if name and name not in cookies:
            try:
                cookies[name] = unquote(value, errors="strict")
            except UnicodeDecodeError:
                cookies[name] = value
    return cookies


# --- bodies -------------------------------------------------------------------------------------

JSON_TYPES = re.compile(r"application/json|application/.*\+json", re.I)
XML_TYPES = ("application/xml", "application/soap+xml", "text/xml")


def decode_content(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo Content-Encoding (possibly several, applied in order), capped at ``limit`` bytes."""
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip", "deflate"):
            wbits = 16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS
            try:
                decompressor = zlib.decompressobj(wbits)
                out = decompressor.decompress(body, limit + 1 if limit else 0)
            except zlib.error:
                if coding == "deflate":
                    try:
                        decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                        out = decompressor.decompress(body, limit + 1 if limit else 0)
                    except zlib.error as error:
                        raise BadContentEncoding(str(error)) from None
                else:
                    raise BadContentEncoding("invalid gzip data") from None
        elif coding == "br":
            import brotli

            try:
                out = brotli.decompress(body)
            except brotli.error as error:
                raise BadContentEncoding(str(error)) from None
        elif coding == "zstd":
            import zstandard

            try:
                out = zstandard.ZstdDecompressor().decompressobj().decompress(body)
            except zstandard.ZstdError as error:
                raise BadContentEncoding(str(error)) from None
        else:
            raise BadContentEncoding(f"unsupported content encoding {coding!r}")
        if limit and len(out) > limit:
            raise BodyTooLarge()
        body = out
    return body


def _xml_compact(element: ElementTree.Element) -> dict[str, Any]:
    """xml-js ``compact: true`` shape: ``_attributes``, ``_text``, children by tag, arrays when repeated."""
    node: dict[str, Any] = {}
    if element.attrib:
        node["_attributes"] = dict(element.attrib)
    text = element.text
    if text is not None and text.strip() != "" or (text and not len(element)):
        node["_text"] = text
    for child in element:
        value = _xml_compact(child)
        if child.tag in node:
            existing = node[child.tag]
            node[child.tag] = existing + [value] if isinstance(existing, list) else [existing, value]
        else:
            node[child.tag] = value
        if child.tail and child.tail.strip():
            node["_text"] = node.get("_text", "") + child.tail
    return node


def parse_xml(text: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    match = re.match(r"\s*<\?xml([^?]*)\?>", text)
    if match:
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        result["_declaration"] = {"_attributes": attrs}
    root = ElementTree.fromstring(text)
    result[root.tag] = _xml_compact(root)
    return result


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields: dict[str, Any] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        value: Any
        if filename is not None:
            value = {"filename": filename, "mimetype": part.get_content_type(), "size": len(payload)}
        else:
            value = payload.decode("utf-8", "replace")
        key = str(name)
        if "[" not in key and key in fields and not isinstance(fields[key], list):
            fields[key] = [fields[key]]
            key = f"{key}[]"
        if key.endswith("[]"):
            fields.setdefault(key[:-2], [])
            if isinstance(fields[key[:-2]], list):
                fields[key[:-2]].append(value)
        else:
            fields[key] = value
    return fields


def parse_body(raw: bytes, content_type: str) -> tuple[str, Any]:
    """(body as text, parsed body or UNDEFINED) — parse failures keep the text, as Mockoon does.
    ``BodyTooDeep`` when the nesting exceeds the recursion limit: the caller says so, then serves the text."""
    text = raw.decode("utf-8", "replace")
    lowered = content_type.lower()
    if not lowered:
        return text, UNDEFINED
    try:
        if JSON_TYPES.search(lowered):
            return text, json.loads(text)
        if "application/x-www-form-urlencoded" in lowered:
            return text, parse_qs(text, depth=10)
        if "multipart/form-data" in lowered:
            return text, _parse_multipart(raw, content_type)
        if any(t in lowered for t in XML_TYPES):
            return text, parse_xml(text)
    except (ValueError, ElementTree.ParseError):
        return text, UNDEFINED
    except RecursionError:
        raise BodyTooDeep(text) from None
    return text, UNDEFINED


@dataclass(slots=True)
class RequestView:
    """What templates and rules read; built by the app shell from the HTTP request."""

    method: str
    path: str  # dedup-slashed, still percent-encoded (Express' req.path)
    original_url: str  # path + query as received
    query_string: str
    headers: list[tuple[str, str]]
    body_text: str = ""
    body: Any = UNDEFINED
    ip: str = ""
    scheme: str = "http"
    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    host_header: str = ""
    port: int = 3000
    prefix: str = ""
    public_base_url: str = ""

    @classmethod
    def build(cls, **kwargs: Any) -> RequestView:
        view = cls(**kwargs)
        view.query = parse_qs(view.query_string)
        view.cookies = parse_cookies(view.header("cookie") or "")
        view.host_header = view.header("host") or ""
        return view

    def header(self, name: str) -> str | None:
        """Express' ``req.get``: case-insensitive, Referer/Referrer aliases, repeated values joined."""
        lowered = name.lower()
        if lowered in ("referer", "referrer"):
            return self.header_values("referer") or self.header_values("referrer")
        return self.header_values(lowered)

    def header_values(self, lowered: str) -> str | None:
        values = [v for k, v in self.headers if k == lowered]
        if not values:
            return None
        if lowered == "set-cookie":
            return values  # type: ignore[return-value]
        return ", ".join(values)

    def headers_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.headers:
            out[key] = out[key] + ", " + value if key in out else value
        return out

    @property
    def hostname(self) -> str:
        host = self.host_header
        if host.startswith("["):
            return host[: host.find("]") + 1]
        return host.split(":", 1)[0]

    @property
    def base_url(self) -> str:
        prefix = f"/{self.prefix}" if self.prefix else ""
        if self.public_base_url:
            return f"{self.public_base_url}{prefix}"
        return f"{self.scheme}://{self.hostname}:{self.port}{prefix}"
