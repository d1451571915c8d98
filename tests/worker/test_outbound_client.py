"""The outbound shell against a loopback upstream, with a stub resolver standing in for DNS.

The stub answers loopback for every name: every name of the corpus is then refused, and once the
operator opens the upstream's address:port, the request reaches it — through the address the guard
checked, never through a second lookup (the resolver is asked once per request, and a later answer
that points elsewhere changes nothing for a request already decided).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time

import pytest

from schemas.outbound import IPAddress, OutboundRefused, OutboundSettings, parse_target
from tests.schemas.test_outbound import NAMES, REFUSED
from tests.upstream_server import UpstreamServer
from worker.outbound_client import OutboundClient, OutboundError, OutboundTimeout, ResponseTooLarge


class StubResolver:
    """DNS stand-in: a fixed answer per call (the last one repeats), and a record of the questions."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def _name_url(url: str, port: int) -> str:
    target = parse_target(url)
    return f"http://{target.host}:{port}/probe"


@pytest.mark.parametrize("url", NAMES)
def test_names_resolving_to_loopback_are_refused_before_any_connection(url: str) -> None:
    with UpstreamServer() as upstream:
        resolver = StubResolver(["127.0.0.1"])
        client = OutboundClient(OutboundSettings(), resolver)
        with pytest.raises(OutboundRefused, match="is not a public address: loopback"):
            _run(client.request(_name_url(url, upstream.port), "GET", []))
        assert resolver.asked == [parse_target(url).host]
        assert upstream.received == [] and client.stats.refused == 1


@pytest.mark.parametrize("url", REFUSED[:20])
def test_refused_literals_never_ask_the_resolver(url: str) -> None:
    resolver = StubResolver(["93.184.216.34"])
    client = OutboundClient(OutboundSettings(), resolver)
    with pytest.raises(OutboundRefused):
        _run(client.request(url, "GET", []))
    assert resolver.asked == []


@pytest.mark.parametrize("url", NAMES)
def test_an_opened_address_is_reached_through_the_checked_address(url: str) -> None:
    with UpstreamServer() as upstream:
        # first answer: loopback (opened by the operator); any later answer: a private address
        resolver = StubResolver(["127.0.0.1"], ["10.255.255.1"])
        client = OutboundClient(OutboundSettings(allow=[f"127.0.0.1:{upstream.port}"]), resolver)

        async def go() -> tuple[int, bytes]:
            response = await client.request(_name_url(url, upstream.port), "POST", [("X-A", "1")], b"hello")
            return response.status, await response.read_all()

        status, _ = _run(go())  # type: ignore[misc]
        assert status == 201
        seen = upstream.wait_for(1)[0]
        host = parse_target(url).host
        assert seen["path"] == "/probe" and seen["body"] == "hello"
        assert ["host", f"{host}:{upstream.port}"] in seen["headers"]  # the name, not the address
        assert resolver.asked == [host]
        # the next request resolves again, gets the private address, and is refused
        with pytest.raises(OutboundRefused, match="10.255.255.1"):
            _run(client.request(_name_url(url, upstream.port), "GET", []))


def test_a_mixed_answer_is_refused_whole() -> None:
    client = OutboundClient(OutboundSettings(), StubResolver(["93.184.216.34", "127.0.0.1"]))
    with pytest.raises(OutboundRefused, match="127.0.0.1"):
        _run(client.request("http://rebind.example.com/", "GET", []))


def test_refused_connection_reads_like_node() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OutboundClient(OutboundSettings(mode="open"))
    with pytest.raises(OutboundError, match=f"^Error: connect ECONNREFUSED 127.0.0.1:{port}$"):
        _run(client.request(f"http://127.0.0.1:{port}/", "GET", []))
    assert client.stats.failed == 1 and client.stats.in_flight == 0


def test_total_timeout_cuts_a_slow_upstream() -> None:
    with UpstreamServer() as upstream:
        client = OutboundClient(OutboundSettings(mode="open", total_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(OutboundTimeout, match="outbound total timeout"):
            _run(client.request(f"{upstream.url}/slow?seconds=5", "GET", []))
        assert time.monotonic() - started < 3
        assert client.stats.timed_out == 1


def test_response_cap_and_streaming() -> None:
    with UpstreamServer() as upstream:
        client = OutboundClient(OutboundSettings(mode="open", max_response_bytes=200_000))

        async def read(size: int) -> list[int]:
            response = await client.request(f"{upstream.url}/big?bytes={size}", "GET", [])
            return [len(chunk) async for chunk in response.body()]

        async def both() -> list[int]:
            chunks = await read(150_000)
            with pytest.raises(ResponseTooLarge):
                await read(300_000)
            return chunks

        chunks = _run(both())
        assert sum(chunks) == 150_000 and len(chunks) > 1  # type: ignore[arg-type]
        assert client.stats.in_flight == 0


def test_keep_alive_connections_are_reused() -> None:
    with UpstreamServer() as upstream:
        client = OutboundClient(OutboundSettings(mode="open"))

        async def three() -> list[int]:
            statuses = []
            for _ in range(3):
                response = await client.request(f"{upstream.url}/x", "GET", [])
                await response.read_all()
                statuses.append(response.status)
            return statuses

        assert _run(three()) == [201, 201, 201]
        ports = {tuple(h) for r in upstream.wait_for(3) for h in r["headers"] if h[0] == "host"}
        assert len(ports) == 1


def test_concurrency_cap_bounds_the_requests_in_flight() -> None:
    with UpstreamServer() as upstream:
        client = OutboundClient(OutboundSettings(mode="open", max_concurrent=1, connect_timeout=0.5))

        async def go() -> str:
            slow = asyncio.create_task(client.request(f"{upstream.url}/slow?seconds=2", "GET", []))
            await asyncio.sleep(0.2)
            assert client.stats.in_flight == 1
            with pytest.raises(OutboundTimeout, match="outbound concurrency cap") as refused:
                await client.request(f"{upstream.url}/fast", "GET", [])
            await (await slow).read_all()
            after = await client.request(f"{upstream.url}/fast", "GET", [])  # the slot is free again
            await after.read_all()
            return str(refused.value)

        assert "more than 1 outbound requests in flight" in _run(go())  # type: ignore[operator]
        assert client.stats.in_flight == 0 and client.stats.timed_out == 1
