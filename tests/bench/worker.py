"""``just bench worker``: our worker against Mockoon CLI on the same environment, one core each.

Four cases: a static JSON body, a templated body (repeat + faker + request helpers), a CRUD list
over a 50-item data bucket and a path no route answers, proxied (proxy mode) to one upstream both
servers share (node's http module where node is installed, else a small asyncio server; it runs
on the load generator's core). Same load generator, same run, ratios recorded. Then the
WebSocket case (``tests/bench/websocket.py``): one-to-one answers and broadcast fan-out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench import loadgen, websocket
from tests.bench.common import (
    CLIENT_CPU,
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


UPSTREAM_JS = ("const body = JSON.stringify({upstream: true, items: [1, 2, 3]});"
               "require('http').createServer((q, s) => { q.resume(); q.on('end', () => {"
               "s.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)});"
               "s.end(body); }); }).listen(+process.argv[1], '127.0.0.1');")
UPSTREAM_PY = """
import asyncio, sys
BODY = b'{"upstream": true, "items": [1, 2, 3]}'
ANSWER = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(BODY)) + BODY
async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(ANSWER)
            if b"connection: close" in head.lower():
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()
asyncio.run(main())
"""


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    """The proxied route's upstream, on the load generator's core so the servers under test keep theirs."""
    command = ["node", "-e", UPSTREAM_JS, str(port)] if shutil.which("node") else [sys.executable, "-c", UPSTREAM_PY,
                                                                                   str(port)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(CLIENT_CPU), *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    from tests.bench.common import wait_port

    wait_port(port, proc)
    return proc


def environment(proxy_host: str = "") -> dict:
    def route(uuid: str, endpoint: str, body: str, **extra: object) -> dict:
        return {"uuid": uuid, "type": extra.pop("type", "http"), "method": "get", "endpoint": endpoint,
                "responses": [{"uuid": f"{uuid}-r", "body": body, "statusCode": 200, "default": True, **extra}]}

    routes = [route("static", "static", '{"ok": true, "items": [1, 2, 3]}'),
              route("templated", "templated", TEMPLATE),
              route("crud", "users", "", type="crud", bodyType="DATABUCKET", databucketID="users")]
    return {"uuid": "bench-env", "lastMigration": 33, "name": "bench", "port": 3000, "endpointPrefix": "",
            "latency": 0, "routes": routes, "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "headers": [{"key": "Content-Type", "value": "application/json"}], "cors": True,
            "proxyMode": bool(proxy_host), "proxyHost": proxy_host,
            "data": [{"uuid": "b", "id": "users", "name": "Users", "documentation": "", "value": BUCKET}],
            "folders": [], "callbacks": []}


CASES = [("static", "/static"), ("templated", "/templated?q=abc"), ("CRUD list", "/users?page=1&limit=10"),
         ("proxied", "/proxied/items?page=2")]


def main(seconds: float = 5.0, only: str = "") -> None:
    pin_client()
    cases = [case for case in CASES if not only or case[0] == only]
    upstream_port = free_port()
    upstream = start_upstream(upstream_port)
    try:
        results = _measure(cases, seconds, f"http://127.0.0.1:{upstream_port}")
    finally:
        stop(upstream)
    lines = []
    for label, _ in cases:
        ours = results[("mockfleet", label)]
        lines.append(ours.line(f"worker {label}: mockfleet"))
        theirs = results.get(("mockoon", label))
        if theirs:
            lines.append(theirs.line(f"worker {label}: Mockoon CLI 9.9.0"))
            lines.append(f"worker {label}: throughput ratio mockfleet/Mockoon = {ours.rps / theirs.rps:.2f}x")
    if only:
        record(f"worker {only} (one core each, 16 connections, {seconds:g} s)", lines)
        return
    _asyncio_loop(lines, results, seconds)


def _measure(cases: list[tuple[str, str]], seconds: float, proxy_host: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env_file = write_json(Path(tmp) / "env.json", environment(proxy_host))
        results = {}
        for name, starter in (("mockfleet", start_worker), ("mockoon", start_mockoon)):
            port = free_port()
            proc = starter(env_file, port)
            if proc is None:
                print("Mockoon CLI not available (no node/npm): measuring mockfleet only")
                continue
            try:
                for label, path in cases:
                    loadgen.run(loadgen.tcp("127.0.0.1", port), loadgen.get(path), 8, 1.0)  # warm-up
                    results[(name, label)] = loadgen.run(loadgen.tcp("127.0.0.1", port), loadgen.get(path), 16,
                                                         seconds)
            finally:
                stop(proc)
    return results


def _asyncio_loop(lines: list[str], results: dict, seconds: float) -> None:
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
    main(only=sys.argv[1] if len(sys.argv) > 1 else "")
