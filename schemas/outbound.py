"""The outbound guard: which addresses a deployment's proxy mode and callbacks may reach.

Pure: the worker's shell (``worker/outbound_client.py``) parses a URL here, resolves the host
itself, hands every resolved address back to ``Guard.decide`` and connects to the one address
the decision names — never to the name, so a second DNS answer (rebinding) cannot switch it.
The supervisor uses the same guard, without DNS, to word the deploy answer's warnings.

Why each refused range is refused is written next to it. Python 3.11's ``ipaddress`` is not
enough on its own: ``IPv6Address('::ffff:127.0.0.1').is_loopback`` is False (fixed in 3.13),
``100.64.0.0/10`` is neither ``is_private`` nor ``is_global``, ``ip_address('127.1')`` and
``ip_address('0177.0.0.1')`` raise while libc's ``inet_aton`` (and so ``getaddrinfo``) reads them
as 127.0.0.1, and NAT64 / 6to4 / IPv4-compatible forms carry an IPv4 address ``ipaddress`` does
not look into. So literals are parsed the way libc parses them, embedded IPv4 addresses are
checked as IPv4, and the ranges below are explicit rather than left to ``is_global``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import msgspec

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve_failure(error: socket.gaierror, host: str) -> str:
    """A failed getaddrinfo as Node words it (``Error: getaddrinfo ENOTFOUND host``)."""
    code = "ENOTFOUND" if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)) else "EAI_AGAIN"
    return f"Error: getaddrinfo {code} {host}"


def resolved_addresses(infos: list[Any]) -> list[IPAddress]:
    """The distinct addresses of getaddrinfo's answer, in its order (scope ids dropped): each goes to the guard."""
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
OutboundMode = Literal["open", "cloud"]


class OutboundRefused(Exception):
    """The guard said no; ``reason`` says why, for the answer, the log and the deploy warning."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidRule(ValueError):
    """An operator's ``--outbound-allow/--outbound-deny/--outbound-resolve`` value cannot be read."""


class OutboundSettings(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """The operator's outbound decisions and limits, handed to every worker (``WorkerHandover``).

    ``mode``: ``open`` reaches anything (``mockfleet serve``, like Mockoon CLI); ``cloud`` refuses
    every non-public address except what ``allow`` opens. ``resolve``: ``HOST=ADDRESS`` answers
    given without DNS (an intranet's names, and the tests' stub resolver). ``broker``: when set,
    the worker resolves and connects nothing itself (``schemas/outbound_broker.py``)."""

    mode: OutboundMode = "cloud"
    allow: list[str] = msgspec.field(default_factory=list)
    deny: list[str] = msgspec.field(default_factory=list)
    resolve: list[str] = msgspec.field(default_factory=list)
    connect_timeout: float = 5.0
    total_timeout: float = 30.0
    max_concurrent: int = 16
    max_response_bytes: int = 16 * 1024 * 1024
    broker: str = ""  # the outbound broker's socket: a worker without network connects through it


# --- why an address is refused -------------------------------------------------------------

def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), why) for net, why in pairs)


_REFUSED_V4 = _nets(
    ("0.0.0.0/8", "unspecified / 'this network': Linux connects 0.0.0.0 to the local host"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "carrier-grade NAT (RFC 6598): the provider's own network; not is_private in Python 3.11"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local, home of the cloud metadata service (169.254.169.254)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890), includes DS-Lite and NAT64 discovery"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "6to4 relay anycast (deprecated, RFC 7526)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544), used for internal test networks"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (class E) and the 255.255.255.255 broadcast"),
)
_REFUSED_V6 = _nets(
    ("::/128", "unspecified: connecting to :: reaches the local host"),
    ("::1/128", "loopback"),
    ("::ffff:0:0:0/96", "IPv4-translated (SIIT, RFC 2765): translated to an IPv4 address inside the network"),
    ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215): translated by the operator's own gateway"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001::/23", "IETF protocol assignments, Teredo (2001::/32) tunnels included"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4 (deprecated): tunnels to the IPv4 address it embeds"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "segment routing identifiers (RFC 9602)"),
    ("fc00::/7", "unique local, IPv6's private range (fd00:ec2::254 is AWS's metadata service)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated), routed as private"),
    ("ff00::/8", "multicast"),
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 form stands for, and the form's name: these reach IPv4 hosts."""
    if ip in _MAPPED:  # ::ffff:a.b.c.d — an AF_INET6 socket connects to a.b.c.d itself
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-mapped"
    if ip in _NAT64:  # 64:ff9b::a.b.c.d — a NAT64 gateway connects to a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip in _COMPATIBLE and int(ip) > 1:  # ::a.b.c.d — deprecated, some stacks still route it
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def address_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached from a deployment, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # a scope id (fe80::1%eth0) changes nothing here
        inner = embedded_ipv4(ip)
        if inner is not None:
            v4, form = inner
            if form == "IPv4-compatible":
                return f"IPv4-compatible IPv6 (deprecated) of {v4}"
            why = address_reason(v4)
            return f"{form} form of {v4}: {why}" if why else None
        for net, why in _REFUSED_V6:
            if ip in net:
                return why
        if ip not in _GLOBAL_UNICAST_V6:
            return "reserved (outside IPv6 global unicast 2000::/3)"
        return None
    for net, why in _REFUSED_V4:
        if ip in net:
            return why
    if not ip.is_global:  # whatever IANA adds later and Python knows of
        return "not globally routable"
    return None


# --- literal hosts, the way libc and browsers read them --------------------------------------

_INET_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def parse_ipv4_like_libc(host: str) -> ipaddress.IPv4Address | None:
    """``inet_aton``: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last fills the rest.

    ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``127.1`` are all 127.0.0.1 to getaddrinfo."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_INET_PART.fullmatch(p) for p in parts):
        return None
    numbers = [int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p)
               for p in parts]
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (5 - len(numbers)) + last)


def normalise_host(host: str) -> str:
    """Lower case, brackets, one trailing dot, percent-escapes and Unicode look-alikes removed
    (``１２７.0.0.1`` and ``ⓛocalhost`` are what a WHATWG URL parser or IDNA make of them)."""
    name = unquote(host.strip()).lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.endswith(".") and not name.endswith(".."):
        name = name[:-1]
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
        if not name.isascii():
            try:
                name = name.encode("idna").decode("ascii")
            except UnicodeError:
                raise OutboundRefused(f"host {host!r} is not a valid name") from None
    return name.lower()


def parse_literal(host: str) -> IPAddress | None:
    """The IP address ``host`` spells (already normalised), or None for a name that needs DNS."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)  # the zone id (%eth0) is kept; address_reason drops it
        except ValueError:
            raise OutboundRefused(f"host {host!r} is not a valid IPv6 address") from None
    return parse_ipv4_like_libc(host)


LOCAL_NAMES = ("localhost",)  # RFC 6761: these and their subdomains are loopback, never asked of DNS


def pinned_addresses(host: str) -> list[IPAddress] | None:
    if host in LOCAL_NAMES or host.endswith(tuple("." + n for n in LOCAL_NAMES)):
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    return None


@dataclass(frozen=True)
class Target:
    """One outbound URL, parsed once: what is checked is what is connected to."""

    url: str
    scheme: Literal["http", "https"]
    host: str  # normalised; the Host header and TLS server name
    port: int
    path: str  # origin-form request target, query included
    literal: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """An http(s) URL as Node's URL parser reads it for our purposes; refused when unusable."""
    text = url.strip().replace("\\", "/")
    try:
        parts = urlsplit(text)
        port = parts.port
        raw_host = parts.netloc.rpartition("@")[2]
        if raw_host.startswith("["):
            raw_host = raw_host[: raw_host.index("]") + 1]
        elif ":" in raw_host:
            raw_host = raw_host.rsplit(":", 1)[0]
    except ValueError as error:
        raise OutboundRefused(f"malformed URL {url!r}: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(f"scheme {parts.scheme or '(none)'!r} is not http or https")
    host = normalise_host(raw_host)
    if not host:
        raise OutboundRefused(f"URL {url!r} has no host")
    literal = parse_literal(host)
    if isinstance(literal, ipaddress.IPv4Address):
        host = str(literal)  # 0x7f.1 is sent as 127.0.0.1, as Node sends it
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, scheme=scheme, host=host,  # type: ignore[arg-type]
                  port=port if port is not None else (443 if scheme == "https" else 80), path=path, literal=literal)


# --- the operator's rules ------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """``CIDR``, ``IP[:PORT]``, ``[IPv6][:PORT]`` or ``HOST[:PORT]`` (port 0: any)."""

    text: str
    network: IPNetwork | None = None
    host: str = ""
    port: int = 0

    def matches(self, host: str, address: IPAddress | None, port: int) -> bool:
        if self.port and self.port != port:
            return False
        if self.network is not None:
            if address is None:
                return False
            if isinstance(address, ipaddress.IPv6Address):
                address = ipaddress.IPv6Address(int(address))
                inner = embedded_ipv4(address)
                if inner is not None and self.network.version == 4:
                    address = inner[0]
            return address.version == self.network.version and address in self.network
        return self.host == host


def parse_rule(text: str) -> Rule:
    value = text.strip()
    port = 0
    try:
        if "/" in value:
            return Rule(text, network=ipaddress.ip_network(value.lower(), strict=False))
        if value.startswith("["):
            inside, _, rest = value[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise InvalidRule(f"invalid outbound rule {text!r}")
                port = int(rest[1:])
            return Rule(text, network=ipaddress.ip_network(inside.lower()), port=_port(port, text))
        if value.count(":") > 1:
            return Rule(text, network=ipaddress.ip_network(value.lower()))
        host, _, port_text = value.partition(":")
        port = _port(int(port_text), text) if port_text else 0
    except ValueError as error:
        raise InvalidRule(f"invalid outbound rule {text!r}: {error}") from None
    name = normalise_host(host)
    literal = parse_ipv4_like_libc(name)
    if literal is not None:
        return Rule(text, network=ipaddress.ip_network(literal), port=port)
    if not name or not re.fullmatch(r"[a-z0-9_.-]+", name):
        raise InvalidRule(f"invalid outbound rule {text!r}: expected CIDR, IP[:PORT] or HOST[:PORT]")
    return Rule(text, host=name, port=port)


def _port(port: int, text: str) -> int:
    if not 1 <= port <= 65535:
        raise InvalidRule(f"invalid outbound rule {text!r}: port {port} out of range")
    return port


def parse_resolve(text: str) -> tuple[str, IPAddress]:
    """``HOST=ADDRESS``: a name the guard's resolver answers itself (curl's --resolve, without a port)."""
    host, sep, address = text.partition("=")
    if not sep:
        raise InvalidRule(f"invalid outbound resolve entry {text!r}: expected HOST=ADDRESS")
    try:
        return normalise_host(host), ipaddress.ip_address(address.strip().strip("[]"))
    except (ValueError, OutboundRefused) as error:
        raise InvalidRule(f"invalid outbound resolve entry {text!r}: {error}") from None


# --- the decision --------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """Connect to ``address`` (the one that was checked), or refuse for ``reason``."""

    address: IPAddress | None
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.address is not None


@dataclass(frozen=True)
class Guard:
    mode: OutboundMode = "cloud"
    allow: tuple[Rule, ...] = ()
    deny: tuple[Rule, ...] = ()
    static: dict[str, list[IPAddress]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: OutboundSettings) -> Guard:
        static: dict[str, list[IPAddress]] = {}
        for entry in settings.resolve:
            host, address = parse_resolve(entry)
            static.setdefault(host, []).append(address)
        return cls(settings.mode, tuple(parse_rule(r) for r in settings.allow),
                   tuple(parse_rule(r) for r in settings.deny), static)

    def known_addresses(self, target: Target) -> list[IPAddress] | None:
        """Addresses decided without DNS: a literal, an operator's resolve entry, ``localhost``."""
        if target.literal is not None:
            return [target.literal]
        return self.static.get(target.host) or pinned_addresses(target.host)

    def decide(self, target: Target, addresses: list[IPAddress]) -> Decision:
        """Every address must pass; the first is the one to connect to."""
        if not addresses:
            return Decision(None, f"{target.host} has no address")
        host, port = target.host, target.port
        if self.mode == "open":
            return Decision(addresses[0])
        for address in addresses:
            for rule in self.deny:
                if rule.matches(host, address, port):
                    return Decision(None, f"{_where(target, address)} is closed by the operator's rule {rule.text!r}")
        if self.opened_by_name(target):
            return Decision(addresses[0])
        for address in addresses:
            if any(rule.matches(host, address, port) for rule in self.allow):
                continue
            why = address_reason(address)
            if why:
                return Decision(None, f"{_where(target, address)} is not a public address: {why}")
        return Decision(addresses[0])

    def opened_by_name(self, target: Target) -> bool:
        return any(rule.network is None and rule.matches(target.host, None, target.port) for rule in self.allow)

    def check_url(self, url: str) -> Decision | None:
        """A deploy-time verdict without DNS: a Decision, or None when only DNS can tell."""
        target = parse_target(url)
        if self.mode == "open":
            return Decision(target.literal or ANY_ADDRESS)
        known = self.known_addresses(target)
        if known is not None:
            return self.decide(target, known)
        if self.opened_by_name(target):
            return Decision(ANY_ADDRESS)  # opened by name: allowed whatever it resolves to
        return None


ANY_ADDRESS = ipaddress.IPv4Address(0)  # stands for "some address" in deploy-time verdicts


def _where(target: Target, address: IPAddress) -> str:
    if target.literal is not None:
        shown = f"[{target.host}]" if ":" in target.host else target.host
    else:
        shown = f"{target.host} ({address})"
    return f"{shown}:{target.port}" if target.port not in (80, 443) else shown
