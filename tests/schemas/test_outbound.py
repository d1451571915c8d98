"""The outbound guard's classifier and decision, over a corpus of target spellings (no sockets, no DNS)."""

from __future__ import annotations

import ipaddress

import pytest

from schemas.outbound import (
    Guard,
    InvalidRule,
    OutboundRefused,
    OutboundSettings,
    address_reason,
    parse_rule,
    parse_target,
)

CLOUD = Guard()

# every spelling libc, Python or a WHATWG URL parser turns into a refused address
REFUSED = [
    # loopback, in every IPv4 spelling inet_aton reads
    "http://127.0.0.1/", "http://127.1/", "http://127.0.1/", "http://2130706433/", "http://0x7f000001/",
    "http://0x7f.1/", "http://0x7f.0.0.1/", "http://0177.0.0.1/", "http://0177.1/", "http://017700000001/",
    "http://127.255.255.254/", "http://127.0.0.1./", "http://127.0.0.1:8080/x", "http://%31%32%37.0.0.1/",
    "http://１２７.0.0.1/", "http://user:pass@127.0.0.1/", "http://good.example@127.0.0.1/",
    "http:\\\\127.0.0.1\\x", "HTTP://127.0.0.1/",
    # names pinned to loopback (RFC 6761), whatever DNS says
    "http://localhost/", "http://localhost./", "http://LOCALHOST/", "http://foo.localhost/", "http://ⓛocalhost/",
    # unspecified
    "http://0/", "http://0.0.0.0/", "http://0x0/", "http://[::]/", "http://[0:0:0:0:0:0:0:0]/",
    # IPv6 loopback, mapped, compatible, translated, NAT64
    "http://[::1]/", "http://[0:0:0:0:0:0:0:1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://[::127.0.0.1]/", "http://[::8.8.8.8]/",
    "http://[::ffff:0:7f00:1]/", "http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::a00:1]/",
    # private (RFC 1918, fc00::/7)
    "http://10.0.0.1/", "http://10.255.255.255/", "http://012.1/", "http://172.16.0.1/", "http://172.31.255.254/",
    "http://192.168.0.1/", "http://192.168.1.1:8443/", "http://3232235777/", "http://[fc00::1]/", "http://[fd12:3456::1]/",
    # link-local and cloud metadata
    "http://169.254.169.254/latest/meta-data/", "http://0xa9fea9fe/", "http://2852039166/", "http://169.254.0.1/",
    "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fd00:ec2::254]/", "http://[febf::1]/",
    # carrier-grade NAT, benchmarking, documentation, protocol assignments
    "http://100.64.0.1/", "http://100.127.255.254/", "http://198.18.0.1/", "http://192.0.0.170/",
    "http://192.0.2.1/", "http://203.0.113.9/", "http://[2001:db8::1]/",
    # multicast, reserved, broadcast
    "http://224.0.0.1/", "http://239.255.255.250/", "http://240.0.0.1/", "http://255.255.255.255/", "http://[ff02::1]/",
    # deprecated tunnels that reach an embedded IPv4 address
    "http://[2002:7f00:1::]/", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://[fec0::1]/",
    "http://[100::1]/",
]

NOT_HTTP = ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/", "//example.com/", "http://",
            "http://[::1/", "http://example.com:99999/", "javascript:alert(1)"]

PUBLIC_LITERALS = ["http://8.8.8.8/", "https://1.1.1.1/dns", "http://93.184.216.34:8080/", "http://134744072/",
                   "http://0x08080808/", "http://100.128.0.1/", "http://172.32.0.1/", "http://192.169.0.1/",
                   "https://[2606:4700:4700::1111]/", "http://[2001:4860:4860::8888]/", "http://[::ffff:8.8.8.8]/",
                   "http://[64:ff9b::808:808]/"]

NAMES = ["https://api.example.com/hook", "http://example.org/", "https://hooks.slack.com/services/x",
         "http://127.0.0.1.nip.io/", "http://metadata.google.internal/", "http://intranet/",
         "http://localtest.me/", "http://spoofed.burpcollaborator.net/"]


def test_the_corpus_is_large() -> None:
    assert len(REFUSED) + len(NOT_HTTP) + len(PUBLIC_LITERALS) + len(NAMES) >= 60
    assert len(set(REFUSED)) == len(REFUSED)


@pytest.mark.parametrize("url", REFUSED)
def test_internal_spellings_are_refused_without_dns(url: str) -> None:
    decision = CLOUD.check_url(url)
    assert decision is not None and not decision.allowed, url
    assert "is not a public address" in decision.reason


@pytest.mark.parametrize("url", NOT_HTTP)
def test_what_is_not_an_http_url_is_refused(url: str) -> None:
    with pytest.raises(OutboundRefused):
        parse_target(url)


@pytest.mark.parametrize("url", PUBLIC_LITERALS)
def test_public_addresses_are_allowed(url: str) -> None:
    decision = CLOUD.check_url(url)
    assert decision is not None and decision.allowed, (url, decision)


@pytest.mark.parametrize("url", NAMES)
def test_names_are_left_to_the_resolved_addresses(url: str) -> None:
    assert CLOUD.check_url(url) is None  # deploy time cannot know; the worker checks what DNS answers
    target = parse_target(url)
    assert not CLOUD.decide(target, [ipaddress.ip_address("127.0.0.1")]).allowed
    assert not CLOUD.decide(target, [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")]).allowed
    allowed = CLOUD.decide(target, [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("2606:4700::1")])
    assert allowed.allowed and allowed.address == ipaddress.ip_address("93.184.216.34")


def test_python_311_pitfalls_are_covered() -> None:
    mapped = ipaddress.IPv6Address("::ffff:127.0.0.1")
    assert not mapped.is_loopback  # the pitfall (3.11) ...
    assert address_reason(mapped) == "IPv4-mapped form of 127.0.0.1: loopback"  # ... and our answer
    cgnat = ipaddress.IPv4Address("100.64.0.1")
    assert not cgnat.is_private and address_reason(cgnat) is not None
    with pytest.raises(ValueError):
        ipaddress.ip_address("127.1")  # libc reads it as 127.0.0.1, so do we
    assert parse_target("http://127.1/").literal == ipaddress.IPv4Address("127.0.0.1")
    assert parse_target("http://0177.0.0.1/").host == "127.0.0.1"


def test_the_connect_target_keeps_the_name_for_host_and_sni() -> None:
    target = parse_target("https://User@API.Example.COM.:8443/a/b?c=d#frag")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "api.example.com", 8443, "/a/b?c=d")
    assert target.host_header == "api.example.com:8443"
    assert parse_target("http://[::1]/").host_header == "[::1]"
    assert parse_target("http://0x7f.1:80").host_header == "127.0.0.1"


def test_operator_rules_open_and_close() -> None:
    guard = Guard.from_settings(OutboundSettings(
        allow=["127.0.0.1:8080", "10.0.0.0/8", "intranet.corp", "[fd00::1]:443"],
        deny=["8.8.4.4", "evil.example.com", "1.1.1.0/24"],
        resolve=["intranet.corp=192.168.1.10", "build.corp=172.16.0.5"]))

    def verdict(url: str) -> bool | None:
        decision = guard.check_url(url)
        return None if decision is None else decision.allowed

    assert verdict("http://127.0.0.1:8080/") is True
    assert verdict("http://127.1:8080/") is True  # the same address, however spelled
    assert verdict("http://[::ffff:127.0.0.1]:8080/") is True
    assert verdict("http://127.0.0.1:8081/") is False  # the port is part of the rule
    assert verdict("http://localhost:8080/") is False  # ::1 is one of its addresses and is not opened
    assert verdict("http://10.20.30.40/") is True
    assert verdict("http://intranet.corp/") is True  # opened by name, resolved by the operator's entry
    assert verdict("http://build.corp/") is False  # resolved by the operator, not opened
    assert verdict("https://[fd00::1]/") is True
    assert verdict("http://[fd00::1]/") is False
    assert verdict("http://8.8.4.4/") is False and verdict("http://8.8.8.8/") is True
    assert verdict("http://1.1.1.1/") is False
    assert verdict("http://evil.example.com/") is None  # needs DNS; denied once it resolves
    target = parse_target("http://evil.example.com/")
    denied = guard.decide(target, [ipaddress.ip_address("93.184.216.34")])
    assert not denied.allowed and "closed by the operator's rule 'evil.example.com'" in denied.reason


def test_open_mode_reaches_anything() -> None:
    guard = Guard(mode="open")
    decision = guard.decide(parse_target("http://localhost:3000/"), [ipaddress.ip_address("127.0.0.1")])
    assert decision.allowed and decision.address == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize("rule", ["", "10.0.0.0/33", "host:0", "host:abc", "[::1]x", "bad host", "a/b/c"])
def test_bad_rules_say_so(rule: str) -> None:
    with pytest.raises(InvalidRule):
        parse_rule(rule)
