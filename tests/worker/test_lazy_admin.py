"""The admin API's Quart app is built for its callers only: probes and unauthenticated GETs get the
same 401 without it, so an idle worker never builds it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from schemas import environment_from_obj
from tests.conftest import make_env
from worker.app import MockApp
from worker.responder import MockServer, WorkerOptions


def call(app: MockApp, scope_type: str, path: str, headers: list[tuple[bytes, bytes]] | None = None,
         query: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []
    received: list[bool] = []

    async def receive() -> dict[str, Any]:
        if received:
            await asyncio.sleep(3600)  # no disconnect: Quart stops waiting once it has answered
        received.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": scope_type, "method": "GET", "path": path, "raw_path": path.encode(), "query_string": query,
             "headers": headers or [], "http_version": "1.1", "scheme": "http", "root_path": "",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_probes_and_strangers_are_refused_without_building_quart_and_the_owner_gets_it() -> None:
    env, _ = environment_from_obj(make_env([]))
    app = MockApp(MockServer(env, WorkerOptions(env_vars={})), 1024, "secret")
    for headers, query in (([], b""), ([(b"authorization", b"Bearer wrong")], b""), ([], b"token=wrong")):
        status, out, body = call(app, "http", "/mockoon-admin/events", headers, query)
        assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
        assert out[b"content-type"] == b"application/json; charset=utf-8"
    assert app._quart is None
    status, _, body = call(app, "http", "/mockoon-admin", [(b"authorization", b"Bearer secret")])
    assert status == 200 and b"Welcome to Mockoon's admin API" in body
    assert app._quart is not None
    # once built, Quart answers every admin request, refusals included, as before
    assert call(app, "http", "/mockoon-admin")[0] == 401
