"""A second runtime for pinning tests: speaks the worker's handover and socket protocol, reports who it is."""

from __future__ import annotations

import asyncio
import json
import sys


async def main() -> None:
    argv = sys.argv[1:]
    socket_path = argv[argv.index("--uds") + 1]
    header = json.loads(sys.stdin.buffer.readline() or b"{}")
    environment = json.loads(sys.stdin.buffer.read() or b"{}")
    identity = json.dumps({"runtime": "fake", "environment": environment.get("name"),
                           "lastMigration": environment.get("lastMigration"),
                           "adminTokenSet": bool(header.get("adminToken"))}).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                if b"upgrade: websocket" in head.lower():
                    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 b"Sec-WebSocket-Accept: fake\r\n\r\n")
                    while True:  # each client frame back, unmasked as a server's (the edge checks masks)
                        first, second = await reader.readexactly(2)
                        size = second & 0x7F
                        extended = await reader.readexactly({126: 2, 127: 8}.get(size, 0))
                        size = int.from_bytes(extended, "big") if extended else size
                        mask = await reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
                        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(await reader.readexactly(size)))
                        writer.write(bytes([first, second & 0x7F]) + extended + payload)
                        await writer.drain()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(identity)).encode() + b"\r\n\r\n" + identity)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_unix_server(serve, socket_path)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
