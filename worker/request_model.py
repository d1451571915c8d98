"""The request as rules and helpers see it: plain data, built once per request, no I/O.

Query strings parse like Express 4's ``qs`` (nested keys, arrays); bodies parse by
Content-Type like Mockoon (JSON and ``+json``, url-encoded, multipart, XML in xml-js'
compact shape), after undoing gzip/deflate/br/zstd content encodings.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote, unquote_plus

from .jsvalues import UNDEFINED, js_json_parse
from .xml_body import parse_xml


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

_ARRAY_LIMIT = 20
_HOLE: Any = object()  # a missing array element (JavaScript arrays can have holes)
_PROTO_KEYS = frozenset({"__proto__", "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
                         "toLocaleString", "toString", "valueOf", "__defineGetter__", "__defineSetter__",
                         "__lookupGetter__", "__lookupSetter__"})


class _Overflow(dict):  # type: ignore[type-arg]
    """An array that grew past qs' arrayLimit: an object with index keys, appended to at max + 1."""

    max_index = -1


def _overflow(items: list[Any]) -> _Overflow:
    out = _Overflow((str(i), v) for i, v in enumerate(items) if v is not _HOLE)
    out.max_index = len(items) - 1
    return out


def _combine(a: Any, b: Any) -> Any:
    """qs' ``combine``: ``[].concat(a, b)``, an overflow object past the array limit."""
    if isinstance(a, _Overflow):
        for value in b if isinstance(b, list) else [b]:
            a.max_index += 1
            a[str(a.max_index)] = value
        return a
    result = (a if isinstance(a, list) else [a]) + (b if isinstance(b, list) else [b])
    return _overflow(result) if len(result) > _ARRAY_LIMIT else result


def _merge(target: Any, source: Any) -> Any:
    """qs' ``merge`` of the object one key parsed to into what the keys before it built."""
    if source == "" or source is None:
        return target
    if not isinstance(source, (dict, list)):
        if isinstance(target, list):
            if len(target) >= _ARRAY_LIMIT:
                return _overflow([*target, source])
            target.append(source)
        elif isinstance(target, _Overflow):
            target.max_index += 1
            target[str(target.max_index)] = source
        elif isinstance(target, dict):
            if source not in _PROTO_KEYS:
                target[source] = True
        else:
            return [target, source]
        return target
    if not isinstance(target, (dict, list)):
        if isinstance(source, _Overflow):
            shifted = _Overflow({"0": target})
            shifted.update((str(int(k) + 1), v) for k, v in source.items())
            shifted.max_index = source.max_index + 1
            return shifted
        return _combine(target, source)
    if isinstance(target, list) and isinstance(source, list):
        for index, item in enumerate(source):
            if item is _HOLE:
                continue
            if index < len(target) and target[index] is not _HOLE:
                current = target[index]
                if isinstance(current, (dict, list)) and isinstance(item, (dict, list)):
                    target[index] = _merge(current, item)
                else:
                    target.append(item)
            else:
                target.extend([_HOLE] * (index + 1 - len(target)))
                target[index] = item
        return _overflow(target) if len(target) > _ARRAY_LIMIT else target
    merged: Any = target
    if isinstance(target, list):
        merged = {str(i): v for i, v in enumerate(target) if v is not _HOLE}
    pairs = source.items() if isinstance(source, dict) else ((str(i), v) for i, v in enumerate(source) if v is not _HOLE)
    for key, value in pairs:
        merged[key] = _merge(merged[key], value) if key in merged else value
        if isinstance(merged, _Overflow) and key.isdigit() and int(key) > merged.max_index:
            merged.max_index = int(key)
    if isinstance(source, _Overflow) and not isinstance(merged, _Overflow):
        merged = _Overflow(merged)
        merged.max_index = source.max_index
    return merged


def _qs_segments(key: str, depth: int) -> list[str] | None:
    """``a[b][c]`` as ['a', '[b]', '[c]']; past ``depth`` the rest is one segment."""
    first = key.find("[")
    parent = key if first < 0 else key[:first]
    if parent in _PROTO_KEYS:
        return None
    segments = [parent] if parent else []
    start, collected = first, 0
    while start >= 0 and collected < depth:
        level, index, close = 1, start + 1, -1
        while index < len(key) and close < 0:
            if key[index] == "[":
                level += 1
            elif key[index] == "]":
                level -= 1
                if level == 0:
                    close = index
            index += 1
        if close < 0:
            segments.append(f"[{key[start:]}]")
            return segments
        if key[start + 1:close] in _PROTO_KEYS:
            return None
        segments.append(key[start:close + 1])
        collected += 1
        start = key.find("[", close + 1)
    if start >= 0:
        segments.append(f"[{key[start:]}]")
    return segments


def _qs_object(segments: list[str], leaf: Any) -> Any:
    for root in reversed(segments):
        if root == "[]":
            leaf = leaf if isinstance(leaf, _Overflow) else _combine([], leaf)
            continue
        clean = root[1:-1] if root.startswith("[") and root.endswith("]") else root
        if clean != root and clean.isdigit() and str(int(clean)) == clean:
            index = int(clean)
            if index < _ARRAY_LIMIT:
                leaf = [_HOLE] * index + [leaf]
            else:
                leaf = _Overflow({clean: leaf})
                leaf.max_index = index
        elif clean != "__proto__":
            leaf = {clean: leaf}
        else:
            leaf = {}
    return leaf


def _compact(value: Any) -> Any:
    if isinstance(value, list):
        return [_compact(v) for v in value if v is not _HOLE]
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                value[key] = _compact(item)
    return value


def parse_qs(text: str, depth: int = 5) -> dict[str, Any]:
    """``qs.parse`` (6.x defaults: arrays up to index 20, 1000 parameters, repeated keys
    combined): each key is built into its own object, then merged into the result in order."""
    result: dict[str, Any] = {}
    if not text:
        return result
    if "%" in text:
        text = re.sub("%5[bB]", "[", re.sub("%5[dD]", "]", text))
    values: dict[str, Any] = {}
    nested = False
    for part in text.split("&")[:1000]:
        if "]=" in part:
            cut = part.find("]=") + 1
            raw_key, raw_value = part[:cut], part[cut + 1:]
        else:
            raw_key, _, raw_value = part.partition("=")
        key = unquote_plus(raw_key)
        if not key:
            continue
        value = unquote_plus(raw_value)
        if "[" in key:
            nested = True
        values[key] = _combine(values[key], value) if key in values else value
    if not nested:
        return values if _PROTO_KEYS.isdisjoint(values) else {k: v for k, v in values.items() if k not in _PROTO_KEYS}
    for key, value in values.items():
        segments = _qs_segments(key, depth)
        if segments is not None:
            result = _merge(result, _qs_object(segments, value))
    return _compact(result)  # type: ignore[no-any-return]


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


_FORM_DANGER = re.compile(r"(^|\[|\.)(__proto__|constructor|prototype)(\]|\.|$)")
_FORM_STEP = re.compile(r"\[(\d+)\]|\[([^\]]+)\]")


def _form_steps(key: str) -> list[tuple[Any, str, bool]]:
    """A multipart field name as (key, what the next step needs: 'array'/'object'/'', append)
    steps: ``a[b][0][]`` is a, b, 0 (then appended to). Names it cannot read are one plain key."""
    whole: list[tuple[Any, str, bool]] = [(key, "", False)]
    first = key.split("[", 1)[0]
    if not first:
        return whole
    steps: list[list[Any]] = [[first, "", False]]
    pos = len(first)
    while pos < len(key):
        if key.startswith("[]", pos):
            steps[-1][2] = True
            pos += 2
            if pos != len(key):
                return whole
            continue
        match = _FORM_STEP.match(key, pos)
        if match is None:
            return whole
        if match.group(1) is not None:
            index = int(match.group(1))
            if index > 10000:
                return whole
            steps[-1][1] = "array"
            steps.append([index, "", False])
        else:
            steps[-1][1] = "object"
            steps.append([match.group(2), "", False])
        pos = match.end()
    return [(k, nxt, append) for k, nxt, append in steps]


def _form_put(context: Any, key: Any, value: Any) -> None:
    if isinstance(context, list):
        context.extend([UNDEFINED] * (key + 1 - len(context)))
        context[key] = value
    else:
        context[str(key)] = value


def append_field(store: dict[str, Any], name: str, value: Any) -> None:
    """Mockoon's ``appendField`` (multer's append-field): bracketed names build nested objects
    and arrays, a repeated name turns into an array."""
    if not name or _FORM_DANGER.search(name):
        return
    steps = _form_steps(name)
    context: Any = store
    for number, (key, nxt, append) in enumerate(steps):
        if key in ("__proto__", "constructor", "prototype"):
            return
        if isinstance(context, list):
            current = context[key] if isinstance(key, int) and key < len(context) else UNDEFINED
        else:
            current = context.get(str(key), UNDEFINED) if isinstance(context, dict) else UNDEFINED
        if number == len(steps) - 1:  # the last step: set, or add to what is there
            while isinstance(current, dict) and "" in current:
                context, key, current = current, "", current[""]
            if current is UNDEFINED:
                _form_put(context, key, [value] if append else value)
            elif isinstance(current, list):
                current.append(value)
            else:
                _form_put(context, key, [current, value])
            return
        if current is UNDEFINED:
            current = [] if nxt == "array" else {}
            _form_put(context, key, current)
        elif isinstance(current, list) and nxt != "array":
            current = {str(i): v for i, v in enumerate(current) if v is not UNDEFINED}
            _form_put(context, key, current)
        elif not isinstance(current, (dict, list)):
            current = {"": current}
            _form_put(context, key, current)
        context = current


def _parse_multipart(body: bytes, content_type: str) -> Any:
    """Fields as busboy gives them to Mockoon, files ({filename, mimetype, size}) after all the
    fields (Mockoon adds a file when its stream closes); undefined when there is no part."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return UNDEFINED
    fields: dict[str, Any] = {}
    files: list[tuple[str, Any]] = []
    seen = False
    for part in message.iter_parts():
        seen = True
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        if filename is not None:
            files.append((str(name), {"filename": filename, "mimetype": part.get_content_type(), "size": len(payload)}))
        else:
            _add_form_value(fields, str(name), payload.decode("utf-8", "replace"))
    for name, value in files:
        _add_form_value(fields, name, value)
    return fields if seen else UNDEFINED


def _add_form_value(fields: dict[str, Any], name: str, value: Any) -> None:
    if "[" not in name and name in fields and not isinstance(fields[name], list):
        fields[name] = [fields[name]]  # a plain name given twice: an array
        name = f"{name}[]"
    append_field(fields, name, value)


def parse_body(raw: bytes, content_type: str) -> tuple[str, Any]:
    """(body as text, parsed body or UNDEFINED) — parse failures keep the text, as Mockoon does.
    ``BodyTooDeep`` when the nesting exceeds the recursion limit: the caller says so, then serves the text."""
    text = raw.decode("utf-8", "replace")
    lowered = content_type.lower()
    if not lowered:
        return text, UNDEFINED
    try:
        if JSON_TYPES.search(lowered):
            return text, js_json_parse(text)
        if "application/x-www-form-urlencoded" in lowered:
            return text, parse_qs(text, depth=10)
        if "multipart/form-data" in lowered:
            return text, _parse_multipart(raw, content_type)
        if any(t in lowered for t in XML_TYPES):
            return text, parse_xml(text)
    except ValueError:  # XmlBodyError and JSON errors: the body stays text, as in Mockoon
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
