"""Environments with WebSocket routes, shared by the worker, differential and platform tests."""

from __future__ import annotations

from typing import Any

ENV_UUID = "5b0d4a4e-4c59-4a51-9d0e-7e6c1f0a0001"


def response(uuid: str, body: str, *, rules: list[dict[str, Any]] | None = None, default: bool = False,
             latency: int = 0, **fields: Any) -> dict[str, Any]:
    return {"uuid": uuid, "body": body, "latency": latency, "statusCode": 200, "label": "", "headers": [],
            "bodyType": "INLINE", "filePath": "", "databucketID": "", "sendFileAsBody": False,
            "rules": rules or [], "rulesOperator": "OR", "disableTemplating": False, "fallbackTo404": False,
            "default": default, "crudKey": "id", "callbacks": [], **fields}


def ws_route(uuid: str, endpoint: str, responses: list[dict[str, Any]], *, mode: str | None = None,
             interval: int = 10, response_mode: str | None = None) -> dict[str, Any]:
    return {"uuid": uuid, "type": "ws", "documentation": "", "method": "get", "endpoint": endpoint,
            "responses": responses, "responseMode": response_mode, "streamingMode": mode,
            "streamingInterval": interval}


def rule(target: str, modifier: str, value: str, operator: str = "equals") -> dict[str, Any]:
    return {"target": target, "modifier": modifier, "value": value, "invert": False, "operator": operator}


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def ws_environment(extra_routes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every mode: one-to-one with rules and templates, UNICAST (sequential), BROADCAST, buckets."""
    routes = [
        ws_route(uid(1), "chat/:room", [
            response(uid(101), "pong {{urlParam 'room'}}", rules=[rule("body", "", "ping")]),
            response(uid(102), "json {{body 'kind'}} of {{queryParam 'user'}}",
                     rules=[rule("body", "kind", "order")]),
            response(uid(103), "{{setGlobalVar 'last' (bodyRaw)}}stored", rules=[rule("body", "", "^store", "regex")]),
            response(uid(104), "last={{getGlobalVar 'last'}}", rules=[rule("body", "", "recall")]),
            response(uid(105), "{{data 'things' '0.name'}}", rules=[rule("body", "", "bucket")]),
            response(uid(106), "", rules=[rule("body", "", "silent")]),
            response(uid(107), "slow {{body}}", rules=[rule("body", "", "slow")], latency=300),
            response(uid(108), "echo {{body}} h={{header 'X-Client'}}/{{header 'x-client'}}", default=True),
        ]),
        ws_route(uid(2), "ticker", [response(uid(201), "tick A {{queryParam 'id'}}"),
                                    response(uid(202), "tick B"), response(uid(203), "tick C")],
                 mode="UNICAST", interval=50, response_mode="SEQUENTIAL"),
        ws_route(uid(3), "feed", [response(uid(301), "news 1"), response(uid(302), "news 2")],
                 mode="BROADCAST", interval=100, response_mode="SEQUENTIAL"),
        ws_route(uid(4), "fast", [response(uid(401), "f")], mode="UNICAST", interval=1),
        ws_route(uid(5), "fallback", [response(uid(501), "only yes", rules=[rule("body", "", "yes")])],
                 response_mode="FALLBACK"),
        {"uuid": uid(6), "type": "http", "documentation": "", "method": "get", "endpoint": "rest",
         "responses": [response(uid(601), "rest ok", default=True)], "responseMode": None,
         "streamingMode": None, "streamingInterval": 0},
        *(extra_routes or []),
    ]
    return {"uuid": ENV_UUID, "lastMigration": 33, "name": "ws", "endpointPrefix": "", "latency": 0, "port": 3000,
            "hostname": "", "folders": [], "routes": routes,
            "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "proxyMode": False, "proxyHost": "", "proxyRemovePrefix": False,
            "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "",
                           "caPath": "", "passphrase": ""},
            "cors": True, "headers": [], "proxyReqHeaders": [], "proxyResHeaders": [],
            "data": [{"uuid": uid(900), "id": "things", "name": "Things", "documentation": "",
                      "value": '[{"name": "first thing"}]'}],
            "callbacks": []}
