"""A request whose body did not come with its head is acknowledged at once (``ack_now``): a client
that writes head and body apart without TCP_NODELAY (Python's http.client) otherwise holds the
body until the edge's delayed ACK, 40 ms later, on every such POST."""

from __future__ import annotations

import socket
import time

import pytest

from edge.socket_streams import RawSocketStream


def _pair() -> tuple[socket.socket, socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    for sock in (client, server):
        sock.settimeout(5)
    for _ in range(4):  # a conversation first, as a TLS handshake is: the kernel leaves quick-ack mode
        client.sendall(b"ping")
        server.recv(16)
        server.sendall(b"pong")
        client.recv(16)
    return client, server


def _body_wait(ack: bool) -> float:
    """Seconds between the head's arrival and the body's, the body written right after the head."""
    client, server = _pair()
    stream = RawSocketStream(server)
    server.setblocking(True)
    server.settimeout(5)
    try:
        client.sendall(b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n")
        client.sendall(b"body")  # Nagle: held until the head is acknowledged
        assert server.recv(4096).startswith(b"POST")
        started = time.monotonic()
        if ack:
            stream.ack_now()
        data = server.recv(4096)
        waited = time.monotonic() - started
        assert data == b"body"
        return waited
    finally:
        client.close()
        server.close()


def test_the_body_written_apart_arrives_without_waiting_for_a_delayed_ack() -> None:
    if min(_body_wait(ack=False) for _ in range(3)) < 0.02:
        pytest.skip("this kernel acknowledged the head at once anyway: nothing to speed up")
    assert max(_body_wait(ack=True) for _ in range(5)) < 0.02


def test_a_unix_socket_has_no_acknowledgements_to_hurry() -> None:
    left, right = socket.socketpair()
    try:
        stream = RawSocketStream(left)
        stream.ack_now()  # no error, and no second attempt
        assert not stream._tcp
    finally:
        left.close()
        right.close()
