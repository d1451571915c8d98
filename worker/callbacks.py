"""Response callbacks as Mockoon 9.9 fires them: prepared with the request, sent after the answer.

``prepare`` renders each callback the served response lists (URI, headers, body: inline or a
data bucket, templated unless the response disables templating) into a ``CallbackCall``;
``CallbackRunner`` waits each one's ``latency`` and sends it through the outbound guard, following
redirects as ``fetch`` does (each hop checked again), and records the outcome (Mockoon's
``callback-invoked`` shape, plus ``error`` when it failed) for the admin API. Nothing here can
delay or change the answer the callback belongs to.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from schemas.environment import RouteResponse
from schemas.outbound import OutboundRefused

from .jsvalues import UNDEFINED, json_stringify
from .outbound_client import OutboundClient, OutboundError
from .proxy_mode import render_headers
from .templating import TemplateError

if TYPE_CHECKING:
    from .request_model import RequestView
    from .responder import MockServer

log = logging.getLogger("mockfleet.worker.callbacks")

DEPTH_HEADER = "X-Mockoon-Callback-Depth"
MAX_REDIRECTS = 20  # fetch's limit
BODY_METHODS = frozenset({"post", "put", "patch"})  # Mockoon's isBodySupportingMethod
# what undici's fetch adds to every request unless the callback sets the header itself
FETCH_DEFAULTS = [("accept", "*/*"), ("accept-language", "*"), ("sec-fetch-mode", "cors"), ("user-agent", "node"),
                  ("accept-encoding", "gzip, deflate")]
MAX_LOGGED = 64 * 1024


@dataclass(frozen=True)
class CallbackCall:
    name: str
    method: str  # lower case, as Mockoon logs it
    url: str
    headers: list[tuple[str, str]]  # as the callback defines them (logged)
    body: str | None
    latency_ms: int


@dataclass(frozen=True)
class CallbackProblem:
    """A callback that could not even be prepared (template error, file body, depth)."""

    name: str
    error: str


def request_depth(view: RequestView) -> int:
    try:
        return max(0, int(view.header(DEPTH_HEADER) or "0"))
    except ValueError:
        return 0


def prepare(server: MockServer, response: RouteResponse, view: RequestView) -> list[CallbackCall | CallbackProblem]:
    """Render the callbacks ``response`` lists, with the request that was answered."""
    if not response.callbacks:
        return []
    from .responder import Scope

    depth = request_depth(view)
    max_depth = server.options.max_callback_depth
    if depth >= max_depth:
        return [CallbackProblem("", f"Max callback depth reached ({max_depth}). Stopping callback execution "
                                    "to prevent infinite loops.")]
    definitions = {callback.uuid: callback for callback in server.env.callbacks}
    scope = Scope(view, server)
    out: list[CallbackCall | CallbackProblem] = []
    for invocation in response.callbacks:
        callback = definitions.get(invocation.uuid)
        if callback is None:
            continue
        try:
            url = server.engine.render(callback.uri, scope)
            if url.startswith("/"):
                base = server.options.public_base_url or f"http://127.0.0.1:{server.env.port}"
                prefix = f"/{server.env.endpoint_prefix}" if server.env.endpoint_prefix else ""
                url = f"{base.rstrip('/')}{prefix}{url}"
            headers = render_headers(server, callback.headers, scope)
            content: Any = callback.body
            template = True
            if callback.body_type == "DATABUCKET" and callback.databucket_id:
                template = False
                bucket = next((b for b in server.state.buckets if b.id == callback.databucket_id), None)
                if bucket is not None:
                    content = bucket.value
                    if not isinstance(content, str) and content is not None and content is not UNDEFINED:
                        content = json_stringify(content)
            elif callback.body_type == "FILE" and callback.file_path:
                out.append(CallbackProblem(callback.name, "Error while attaching file to callback request: "
                                                          "files are not read by this platform"))
                continue
            if template and not response.disable_templating:
                content = server.engine.render(content or "", scope)
        except TemplateError as error:
            out.append(CallbackProblem(callback.name, f"Error while executing callback: {error}"))
            continue
        body = content if isinstance(content, str) else None
        headers.append((DEPTH_HEADER, str(depth + 1)))
        out.append(CallbackCall(callback.name, callback.method, url, headers,
                                body if callback.method in BODY_METHODS else None, invocation.latency))
    return out


def fetch_headers(call: CallbackCall) -> list[tuple[str, str]]:
    """The headers fetch sends: the callback's (same names joined), its defaults where unset."""
    merged: dict[str, tuple[str, str]] = {}
    for key, value in call.headers:
        lowered = key.lower()
        merged[lowered] = (key, f"{merged[lowered][1]}, {value}") if lowered in merged else (key, value)
    if call.body is not None and "content-type" not in merged:
        merged["content-type"] = ("content-type", "text/plain;charset=UTF-8")
    for key, value in FETCH_DEFAULTS:
        merged.setdefault(key, (key, value))
    return list(merged.values())


def _text(data: bytes) -> str:
    return data[:MAX_LOGGED].decode("utf-8", "replace")


class CallbackRunner:
    """Fires prepared callbacks in the background and hands each record to ``record``."""

    def __init__(self, client: OutboundClient, record: Any) -> None:
        self.client = client
        self.record = record
        self.tasks: set[asyncio.Task[None]] = set()

    def schedule(self, items: list[CallbackCall | CallbackProblem]) -> None:
        for item in items:
            if isinstance(item, CallbackProblem):
                log.warning("callback %r: %s", item.name, item.error)
                self.record({"name": item.name, "error": item.error, "refused": False})
                continue
            task = asyncio.get_running_loop().create_task(self._fire(item))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _fire(self, call: CallbackCall) -> None:
        if call.latency_ms > 0:
            await asyncio.sleep(call.latency_ms / 1000)
        entry: dict[str, Any] = {"name": call.name, "url": call.url, "method": call.method,
                                 "requestBody": call.body, "requestHeaders": [{"key": k, "value": v}
                                                                              for k, v in call.headers]}
        method, url = call.method.upper(), call.url
        body = (call.body or "").encode("utf-8", "surrogatepass") if call.body is not None else b""
        headers = fetch_headers(call)
        try:
            for _ in range(MAX_REDIRECTS + 1):
                response = await self.client.request(url, method, headers, body, verify_tls=True)
                location = next((v for k, v in response.headers if k.lower() == "location"), None)
                if response.status in (301, 302, 303, 307, 308) and location:
                    await response.aclose()
                    url = urljoin(url, location)
                    if response.status == 303 and method != "HEAD" or response.status in (301, 302) and method == "POST":
                        method, body = "GET", b""
                        headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
                    continue
                data = await response.read_all()
                entry.update({"status": response.status, "responseBody": _text(data),
                              "responseHeaders": [{"key": k.lower(), "value": v} for k, v in response.headers]})
                break
            else:
                entry.update({"error": "Error while executing callback: TypeError: fetch failed (redirect count "
                                       "exceeded)", "refused": False})
        except OutboundRefused as refused:
            entry.update({"error": f"Error while executing callback: refused by the outbound policy: "
                                   f"{refused.reason}", "refused": True})
        except OutboundError as error:
            entry.update({"error": f"Error while executing callback: TypeError: fetch failed ({error})",
                          "refused": False})
        if "error" in entry:
            log.warning("callback %r to %s: %s", call.name, url, entry["error"])
        self.record(entry)
