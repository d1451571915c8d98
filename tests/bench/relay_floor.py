"""The cost floor of any trio edge on this machine: a TLS-to-Unix-socket relay that does no HTTP
work at all (fixed-size request and response copied as bytes), on the same streams the edge
uses. ``just bench edge`` prints it beside the edge's own figure."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import trio

from tests.bench.edge_instructions import RESPONSE, keep_alive_client, stub_worker


def relay_floor(count: int = 3000) -> float:
    """CPU µs per request of the relay process (TLS in, Unix socket out and back, TLS out)."""
    from edge.certificates import ensure_local_certificates, server_context
    from edge.socket_streams import TlsSocketStream, open_unix_stream

    with tempfile.TemporaryDirectory() as tmp:
        files = ensure_local_certificates(Path(tmp) / "certs", "mockfleet.localhost", "local")
        context = server_context(files.instances_cert, files.instances_key)
        cafile = str(files.ca_cert)
        path = os.path.join(tmp, "u.sock")
        ready = multiprocessing.Event()
        upstream = multiprocessing.Process(target=stub_worker, args=(path, 0.0, ready), daemon=True)
        upstream.start()
        ready.wait(10)
        spent: list[float] = []

        async def main() -> None:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            port = listeners[0].socket.getsockname()[1]
            client = multiprocessing.Process(target=keep_alive_client, args=(port, cafile, count), daemon=True)
            client.start()
            accepted = await listeners[0].accept()
            tls = TlsSocketStream.accept(accepted, context)
            await tls.do_handshake()
            worker = await open_unix_stream(path)
            started = time.process_time()
            for _ in range(count):
                request = await tls.receive_within(10)
                await worker.send_all(request)
                response = b""
                while len(response) < len(RESPONSE):
                    response += await worker.receive_within(10)
                await tls.send_all(response)
            spent.append(time.process_time() - started)
            client.join(10)

        trio.run(main)
        upstream.kill()
    return spent[0] / count * 1e6


def serve_relay(port: int, cert: str, key: str, upstream_path: str) -> None:
    """A layer-4 TLS relay to one Unix socket, no HTTP at all: each client connection gets its
    own upstream connection and bytes are copied both ways. The edge bench runs it under the
    same load as the edge, so the two figures compare like for like."""
    from edge.certificates import server_context
    from edge.socket_streams import TlsSocketStream, open_unix_stream, splice

    context = server_context(Path(cert), Path(key))  # the edge's own TLS settings

    async def handle(accepted: trio.SocketStream) -> None:
        tls = TlsSocketStream.accept(accepted, context)
        try:
            await tls.do_handshake()
            upstream = await open_unix_stream(upstream_path)
        except (trio.BrokenResourceError, OSError):
            await tls.aclose()
            return
        await splice(tls, upstream)
        await upstream.aclose()
        await tls.aclose()

    async def main() -> None:
        await trio.serve_tcp(handle, port, host="127.0.0.1")

    trio.run(main)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["serve"]:
        serve_relay(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        print(f"relay floor: {relay_floor():.0f} µs CPU per request")
