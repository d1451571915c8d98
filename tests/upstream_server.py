"""A loopback HTTP upstream for proxy-mode and callback tests: it records what it receives.

Paths: ``/slow?seconds=S`` answers late; ``/redirect?to=URL`` answers 302; ``/big?bytes=N`` streams
N bytes chunked; ``/status/N`` answers N; anything else echoes the request as JSON (method, path,
sorted headers, body) with a Set-Cookie and a custom header. Every request is appended to ``received``
(and signalled to ``arrived``) before it is answered.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: UpstreamServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        ignored = self.server.echo_ignores
        record = {"method": self.command, "path": self.path,
                  "headers": sorted([k.lower(), v] for k, v in self.headers.items() if k.lower() not in ignored),
                  "body": body.decode("utf-8", "replace")}
        with self.server.lock:
            self.server.received.append(record)
            self.server.arrived.notify_all()
        if parts.path == "/slow":
            time.sleep(float(query.get("seconds", "5")))
        if parts.path == "/redirect":
            self._answer(302, b"", [("Location", query["to"])])
            return
        if parts.path.startswith("/status/"):
            self._answer(int(parts.path.rsplit("/", 1)[1]), b"status body", [("Content-Type", "text/plain")])
            return
        if parts.path == "/big":
            size = int(query.get("bytes", "1048576"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            left = size
            while left > 0:
                piece = chunk[: min(left, len(chunk))]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                left -= len(piece)
            self.wfile.write(b"0\r\n\r\n")
            return
        echo = json.dumps(record, sort_keys=True).encode()
        self._answer(201, echo, [("Content-Type", "application/json"), ("X-Upstream", "yes"),
                                 ("Set-Cookie", "session=abc; Domain=upstream.test; Path=/; Secure; HttpOnly")])

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", echo_ignores: frozenset[str] = frozenset()) -> None:
        super().__init__((host, 0), _Handler)
        self.echo_ignores = echo_ignores  # request headers left out of records (differential tests)
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> UpstreamServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first ``count`` requests, waiting (with a deadline) until they have arrived."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} requests arrived")
                self.arrived.wait(left)
            return list(self.received[:count])
