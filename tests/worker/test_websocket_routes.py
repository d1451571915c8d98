"""The pure side of WebSocket routes: matching, the ws library's refusals, messages as bodies."""

from __future__ import annotations

import json

from schemas import decode_environment
from tests.worker.ws_envs import ws_environment
from worker.request_model import RequestView
from worker.responder import served_routes
from worker.state import EnvironmentState
from worker.websocket_routes import (
    NO_ROUTE,
    UpgradeRequestView,
    choose_ws_response,
    compile_ws_routes,
    find_ws_route,
    handshake_refusal,
    message_view,
    parse_subprotocols,
    route_params,
)

GOOD = [("upgrade", "websocket"), ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "13")]


def _routes():
    env, _ = decode_environment(json.dumps(ws_environment()).encode())
    routes, errors = compile_ws_routes(served_routes(env, frozenset(), types=("ws",)), env.endpoint_prefix)
    assert errors == []
    return routes


def test_ws_routes_match_paths_with_params_and_only_ws_routes() -> None:
    routes = _routes()
    found = find_ws_route(routes, "/chat/lobby")
    assert found is not None and found.route.endpoint == "chat/:room"
    assert route_params(found, "/chat/lobby") == {"room": "lobby"}
    assert find_ws_route(routes, "/rest") is None  # an HTTP route
    assert NO_ROUTE.status == 404 and NO_ROUTE.body == b"No WebSocket route found for this path"


def test_handshake_refusals_in_the_ws_librarys_order() -> None:
    assert handshake_refusal("GET", GOOD) is None
    assert handshake_refusal("POST", GOOD).status == 405  # type: ignore[union-attr]
    no_key = [h for h in GOOD if h[0] != "sec-websocket-key"]
    assert handshake_refusal("GET", no_key).message == "Missing or invalid Sec-WebSocket-Key header"  # type: ignore[union-attr]
    old = [*no_key, ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]
    old[1] = ("sec-websocket-version", "7")
    refusal = handshake_refusal("GET", old)
    assert refusal is not None and ("Sec-WebSocket-Version", "13, 8") in refusal.headers
    assert handshake_refusal("GET", [*GOOD, ("sec-websocket-version", "8")]) is None  # the first copy counts


def test_subprotocols_are_tokens_each_once() -> None:
    assert parse_subprotocols("a, b") == ["a", "b"]
    assert parse_subprotocols("a, a") is None
    assert parse_subprotocols("a b") is None


def _upgrade(content_type: str = "") -> RequestView:
    headers = [("content-type", content_type)] if content_type else []
    return UpgradeRequestView.build(method="GET", path="/chat/x", original_url="/chat/x", query_string="",
                                    headers=[*headers, ("x-id", "7")])


def test_a_message_is_the_body_parsed_by_the_upgrades_content_type() -> None:
    assert message_view(_upgrade(), "hello").body == "hello"
    assert message_view(_upgrade("application/json"), '{"a": 1}').body == {"a": 1}
    assert message_view(_upgrade("application/json"), "not json").body == "not json"
    view = message_view(_upgrade(), "m")
    assert view.header("x-id") == "7" and view.header("X-Id") is None  # Node's lower-case keys


def test_rules_see_the_message() -> None:
    routes = _routes()
    chat = routes[0].route
    state = EnvironmentState()
    view = message_view(_upgrade(), "ping")
    chosen = choose_ws_response(chat, view, state, 1, lambda t: t, lambda n: 0, "ping")
    assert chosen is not None and chosen.body == "pong {{urlParam 'room'}}"
    other = choose_ws_response(chat, message_view(_upgrade(), "zzz"), state, 1, lambda t: t, lambda n: 0, "zzz")
    assert other is not None and other.default
