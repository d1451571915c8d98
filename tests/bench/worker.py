"""``just bench worker``: our worker against Mockoon CLI on the same environment, one core each.

Three routes: a static JSON body, a templated body (repeat + faker + request helpers) and a
CRUD list over a 50-item data bucket. Same load generator, same run, ratios recorded. Then the
WebSocket case (``tests/bench/websocket.py``): one-to-one answers and broadcast fan-out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.bench import loadgen, websocket
from tests.bench.common import (
    free_port,
    pin_client,
    record,
    start_mockoon,
    start_worker,
    stop,
    write_json,
)

TEMPLATE = ('[{{#repeat 5}}{"id": {{@index}}, "name": "{{faker \'person.firstName\'}}", '
            '"q": "{{queryParam \'q\'}}", "when": "{{now \'yyyy-MM-dd\'}}"}{{/repeat}}]')
BUCKET = "[" + ",".join(f'{{"id": {i}, "name": "user {i}", "age": {20 + i % 50}}}' for i in range(50)) + "]"


def environment() -> dict:
    def route(uuid: str, endpoint: str, body: str, **extra: object) -> dict:
        return {"uuid": uuid, "type": extra.pop("type", "http"), "method": "get", "endpoint": endpoint,
                "responses": [{"uuid": f"{uuid}-r", "body": body, "statusCode": 200, "default": True, **extra}]}

    routes = [route("static", "static", '{"ok": true, "items": [1, 2, 3]}'),
              route("templated", "templated", TEMPLATE),
              route("crud", "users", "", type="crud", bodyType="DATABUCKET", databucketID="users")]
    return {"uuid": "bench-env", "lastMigration": 33, "name": "bench", "port": 3000, "endpointPrefix": "",
            "latency": 0, "routes": routes, "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "headers": [{"key": "Content-Type", "value": "application/json"}], "cors": True, "proxyMode": False,
            "data": [{"uuid": "b", "id": "users", "name": "Users", "documentation": "", "value": BUCKET}],
            "folders": [], "callbacks": []}


CASES = [("static", "/static"), ("templated", "/templated?q=abc"), ("CRUD list", "/users?page=1&limit=10")]


def main(seconds: float = 5.0) -> None:
    pin_client()
    with tempfile.TemporaryDirectory() as tmp:
        env_file = write_json(Path(tmp) / "env.json", environment())
        results = {}
        for name, starter in (("mockfleet", start_worker), ("mockoon", start_mockoon)):
            port = free_port()
            proc = starter(env_file, port)
            if proc is None:
                print("Mockoon CLI not available (no node/npm): measuring mockfleet only")
                continue
            try:
                for label, path in CASES:
                    loadgen.run(loadgen.tcp("127.0.0.1", port), loadgen.get(path), 8, 1.0)  # warm-up
                    results[(name, label)] = loadgen.run(loadgen.tcp("127.0.0.1", port), loadgen.get(path), 16,
                                                         seconds)
            finally:
                stop(proc)
    lines = []
    for label, _ in CASES:
        ours = results[("mockfleet", label)]
        lines.append(ours.line(f"worker {label}: mockfleet"))
        theirs = results.get(("mockoon", label))
        if theirs:
            lines.append(theirs.line(f"worker {label}: Mockoon CLI 9.9.0"))
            lines.append(f"worker {label}: throughput ratio mockfleet/Mockoon = {ours.rps / theirs.rps:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        env_file = write_json(Path(tmp) / "env.json", environment())
        port = free_port()
        proc = start_worker(env_file, port, loop="asyncio")
        try:
            loadgen.run(loadgen.tcp("127.0.0.1", port), loadgen.get("/static"), 8, 1.0)
            plain = loadgen.run(loadgen.tcp("127.0.0.1", port), loadgen.get("/static"), 16, seconds)
        finally:
            stop(proc)
    lines.append(plain.line("worker static: mockfleet on the asyncio loop") +
                 f" -> uvloop is {results[('mockfleet', 'static')].rps / plain.rps:.2f}x of asyncio")
    lines += websocket.main(seconds)
    lines.append("note: Mockoon CLI runs as users run it (it writes each transaction to its log file)")
    record("worker (one core each, 16 connections, 5 s per case)", lines)


if __name__ == "__main__":
    main()
