"""Proxy mode as Mockoon 9.9 does it (http-proxy-middleware 3 with changeOrigin), without the I/O.

Requests no route answers go to ``proxyHost``: the path joined to the target's path as
http-proxy's ``urlJoin`` does (``proxyRemovePrefix`` first strips ``/<endpointPrefix>``), the
request's headers minus hop-by-hop ones, Host rewritten to the target, ``proxyReqHeaders`` set
last. The answer keeps the environment's headers unless the upstream sends the same name, takes
``proxyResHeaders`` over both, and on a plain-HTTP server loses cookies' ``Secure`` and ``Domain``
attributes. The streaming itself is ``app.py``'s, the connecting ``outbound_client.py``'s.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from schemas.environment import Header

from .templating import TemplateError

if TYPE_CHECKING:
    from .responder import MockServer, Scope

HEADER_PARSING_ERROR = "-- Header parsing error, see logs for more details --"
PROXY_ERROR = "An error occurred while trying to proxy to {host} {url}: {error}"

# never forwarded: they describe one connection, not the message (RFC 9110 7.6.1), or are ours
REQUEST_DROPPED = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                             "upgrade", "host", "content-length", "expect", "http2-settings"})
RESPONSE_DROPPED = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                              "upgrade", "date"})  # hypercorn writes the Date of the answer itself
_SECURE = re.compile(r";\s*secure(?=;|$)", re.I)
_ADDED_SECURE = re.compile("; secure", re.I)
_DOMAIN = re.compile(r";\s*domain=[^;]*", re.I)


def proxied_path(original_url: str, endpoint_prefix: str, remove_prefix: bool) -> str:
    """``req.url`` once http-proxy-middleware's pathRewrite ran (Mockoon strips ``^/<prefix>``)."""
    if remove_prefix and endpoint_prefix:
        try:
            return re.sub(f"^/{endpoint_prefix}", "", original_url, count=1)
        except re.error:
            return original_url
    return original_url


def upstream_url(proxy_host: str, path: str) -> str:
    """http-proxy's ``urlJoin(target.path, req.url)``: slashes collapsed, the request's query kept."""
    scheme, sep, rest = proxy_host.partition("://")
    authority, slash, target_path = rest.partition("/")
    target_path = slash + target_path.split("#", 1)[0] if slash else "/"
    request_path, question, query = path.partition("?")
    joined = re.sub(r"/+", "/", "/".join(p for p in (target_path, request_path) if p))
    authority = authority.split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}{sep}{authority}{joined}{question}{query}"


def _connection_tokens(headers: list[tuple[str, str]]) -> set[str]:
    return {token.strip().lower() for k, v in headers if k.lower() == "connection" for token in v.split(",")}


def upstream_headers(request_headers: list[tuple[str, str]], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request's headers as forwarded, then ``proxyReqHeaders`` (``setHeader``: replaces by name)."""
    dropped = REQUEST_DROPPED | _connection_tokens(request_headers)
    out = [(k, v) for k, v in request_headers if k.lower() not in dropped]
    for key, value in extra:
        lowered = key.lower()
        if lowered in REQUEST_DROPPED:
            continue
        out = [(k, v) for k, v in out if k.lower() != lowered]
        out.append((key, value))
    return out


def downstream_headers(environment: list[tuple[str, str]], upstream: list[tuple[str, str]],
                       extra: list[tuple[str, str]], tls: bool = False) -> list[tuple[str, str]]:
    """The answer's headers: environment headers, overridden by the upstream's, then ``proxyResHeaders``."""
    dropped = RESPONSE_DROPPED | _connection_tokens(upstream)
    from_upstream = [(k.lower(), v) for k, v in upstream if k.lower() not in dropped]
    cookies = [v if tls else _SECURE.sub("", v) for k, v in from_upstream if k == "set-cookie"]
    from_upstream = [(k, v) for k, v in from_upstream if k != "set-cookie"]
    for key, value in extra:  # Mockoon adds them to the upstream answer's headers object before it is copied
        lowered = key.lower()
        if lowered == "set-cookie":
            # appended under 'set-cookie'; under any other spelling a second key whose copy replaces them all
            cookies = [*cookies, _ADDED_SECURE.sub("", value)] if key == "set-cookie" else [_ADDED_SECURE.sub("", value)]
        elif lowered not in dropped:
            from_upstream = [(k, v) for k, v in from_upstream if k != lowered]
            from_upstream.append((lowered, value))
    names = {k for k, _ in from_upstream} | ({"set-cookie"} if cookies else set())
    kept = [(k, v) for k, v in environment if k.lower() not in names]
    return kept + from_upstream + [("set-cookie", _DOMAIN.sub("", c)) for c in cookies]


def render_headers(server: MockServer, headers: list[Header], scope: Scope) -> list[tuple[str, str]]:
    """Header values templated against the request; a failing template gives Mockoon's marker text."""
    out: list[tuple[str, str]] = []
    for header in headers:
        if not header.key or not header.value:
            continue
        try:
            value = server.engine.render(header.value, scope)
        except TemplateError:
            value = HEADER_PARSING_ERROR
        out.append((header.key, re.sub(r"[\r\n]", "", value)))
    return out


def proxy_error(proxy_host: str, url: str, error: str) -> str:
    """Mockoon's 504 text: ``sendError(`${PROXY_ERROR} ${req.url}: ${error}`)``."""
    return PROXY_ERROR.format(host=proxy_host, url=url, error=error)
