"""The proxy-mode shell: one unmatched request relayed to ``proxyHost``, the answer streamed back.

Decisions (path, headers, error text) are ``proxy_mode.py``'s; connecting and the outbound guard
are ``outbound_client.py``'s. Here: send the upstream's head, then its body chunk by chunk as it
arrives (never buffered whole; the first 64 KiB are kept for the admin logs), and answer
Mockoon's 504 when the upstream cannot be reached, is refused by the policy or times out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.outbound import OutboundRefused

from .outbound_client import OutboundClient, OutboundError
from .proxy_mode import (
    downstream_headers,
    proxied_path,
    proxy_error,
    render_headers,
    upstream_headers,
    upstream_url,
)
from .request_model import BadContentEncoding, BodyTooLarge, RequestView, decode_content
from .responder import HeaderBag, MockResponse, MockServer, Scope
from .routing import dedup_slashes

log = logging.getLogger("mockfleet.worker.proxy")
LOGGED_BODY = 64 * 1024


@dataclass(frozen=True)
class ProxyCall:
    """What ``MockServer.handle`` left to the proxy: the request as received, the environment's headers."""

    server: MockServer
    view: RequestView
    headers: list[tuple[str, str]]  # the request's, names lower-cased
    body: bytes  # as received: still content-encoded, as Mockoon re-streams its rawBody
    environment_headers: list[tuple[str, str]]


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers]


class ProxyRelay:
    def __init__(self, client: OutboundClient, record: Callable[[MockServer, RequestView, MockResponse], None]) -> None:
        self.client = client
        self.record = record

    async def relay(self, call: ProxyCall, send: Any) -> None:
        server, view = call.server, call.view
        env = server.env
        # Mockoon de-duplicates slashes in the whole URL, query included, before anything else
        path = proxied_path(dedup_slashes(view.original_url), env.endpoint_prefix, env.proxy_remove_prefix)
        scope = Scope(view, server)
        outgoing = upstream_headers(call.headers, render_headers(server, env.proxy_req_headers, scope))
        try:
            framed = any(k in ("content-length", "transfer-encoding") for k, _ in call.headers)
            upstream = await self.client.request(
                upstream_url(env.proxy_host, path), view.method, outgoing, call.body,
                verify_tls=False,  # http-proxy runs with secure: false
                content_length=framed or view.method not in ("GET", "HEAD"))  # as Node's ClientRequest does
        except OutboundRefused as refused:
            log.warning("proxy %s %s refused by the outbound policy: %s", view.method, path, refused.reason)
            await self._fail(call, send, path, f"Error: refused by the outbound policy: {refused.reason}")
            return
        except OutboundError as error:
            log.warning("proxy %s %s to %s failed: %s", view.method, path, env.proxy_host, error)
            await self._fail(call, send, path, str(error))
            return
        headers = downstream_headers(call.environment_headers, upstream.headers,
                                     render_headers(server, env.proxy_res_headers, scope))
        await send({"type": "http.response.start", "status": upstream.status, "headers": _encode(headers)})
        kept: list[bytes] = []
        size = 0
        try:
            async for chunk in upstream.body():
                if size < LOGGED_BODY:
                    kept.append(chunk[: LOGGED_BODY - size])
                size += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OutboundError as error:
            # the head is gone already: all that is left is to cut the answer short, as Node does
            log.warning("proxy %s %s: the upstream answer broke off after %d bytes: %s", view.method, path, size, error)
            raise
        finally:
            await upstream.aclose()  # a client gone mid-answer frees the outbound slot at once
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        logged = b"".join(kept)
        encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "")
        if encoding and size <= LOGGED_BODY:
            try:
                logged = decode_content(logged, encoding, LOGGED_BODY)
            except (BadContentEncoding, BodyTooLarge):
                pass  # the log keeps the raw bytes
        self.record(server, view, MockResponse(upstream.status, headers, logged, proxy=True))

    async def _fail(self, call: ProxyCall, send: Any, path: str, error: str) -> None:
        """Mockoon's sendError(504): the environment's headers, text/plain, the proxy error text."""
        bag = HeaderBag()
        bag.items = list(call.environment_headers)
        bag.set("Content-Type", "text/plain")
        body = proxy_error(call.server.env.proxy_host, path, error).encode()
        bag.set("Content-Length", str(len(body)))
        await send({"type": "http.response.start", "status": 504, "headers": _encode(bag.items)})
        await send({"type": "http.response.body", "body": b"" if call.view.method == "HEAD" else body})
        self.record(call.server, call.view, MockResponse(504, bag.items, body))
