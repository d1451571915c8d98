"""Decide whether a URL or host points inside the platform (SSRF guard, literal forms).

Hosts are read the way resolvers and browsers read them, so that the spellings an
attacker uses to hide ``127.0.0.1`` (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
``[::ffff:127.0.0.1]``, ``localhost.``) are recognised. Names that need DNS are left
to a check at connection time (``is_internal_ip`` on the resolved address).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that always resolve to the local machine or to cloud metadata services.
_LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "ip6-localhost",
        "ip6-loopback",
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "kubernetes",
        "kubernetes.default",
        "host.docker.internal",
        "gateway.docker.internal",
    }
)
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet")

# Ranges that ``ipaddress`` counts as global but that route inside providers' networks.
_EXTRA_BLOCKED = (ipaddress.ip_network("100.64.0.0/10"),)


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Parse IPv4 the way ``inet_aton`` does: 1 to 4 parts, decimal, octal or hex."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not part:
            return None
        try:
            if re.fullmatch(r"0[xX][0-9a-fA-F]*", part):
                numbers.append(int(part[2:] or "0", 16))
            elif re.fullmatch(r"0[0-7]+", part):
                numbers.append(int(part, 8))
            elif re.fullmatch(r"[0-9]+", part):
                numbers.append(int(part, 10))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(numbers)) + last
    return ipaddress.IPv4Address(value)


def parse_ip(host: str) -> IPAddress | None:
    """An IP address in any literal spelling, or None for a name."""
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0]  # IPv6 zone id
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return parse_ipv4_loose(host)


def is_internal_ip(ip: IPAddress) -> bool:
    """True for every address that is not plainly on the public internet."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and ip in ipaddress.ip_network("::/96") and int(ip) > 1:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # IPv4-compatible, deprecated
        if embedded is not None and is_internal_ip(embedded):
            return True
    if any(ip in net for net in _EXTRA_BLOCKED if ip.version == net.version):
        return True
    return not ip.is_global or ip.is_multicast


def internal_host_reason(host: str) -> str | None:
    """Why ``host`` is internal (a short reason), or None when it may be public."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    bare = name.rstrip(".")
    if not bare:
        return "empty host"
    ip = parse_ip(bare)
    if ip is not None:
        if is_internal_ip(ip):
            return f"{host} is the internal address {ip}"
        return None
    if bare in _LOCAL_NAMES or bare.endswith(_LOCAL_SUFFIXES):
        return f"{host} is a local or internal name"
    if "." not in bare:
        return f"{host} is a single-label name that resolves on the local network"
    return None


class UrlCheck:
    """The outcome of checking one outbound URL."""

    __slots__ = ("allowed", "reason", "host", "needs_dns")

    def __init__(self, allowed: bool, reason: str = "", host: str = "", needs_dns: bool = False):
        self.allowed = allowed
        self.reason = reason
        self.host = host
        self.needs_dns = needs_dns


def check_outbound_url(url: str) -> UrlCheck:
    """Literal check of an outbound URL: scheme, userinfo tricks and internal hosts."""
    text = url.strip().replace("\\", "/")
    if "{{" in text:
        return UrlCheck(True, "the URL is templated; its host is checked at connection time", needs_dns=True)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        return UrlCheck(False, f"malformed URL: {error}")
    if parts.scheme.lower() not in ("http", "https"):
        return UrlCheck(False, f"scheme {parts.scheme or '(none)'!r} is not http or https")
    if not host:
        return UrlCheck(False, "the URL has no host")
    reason = internal_host_reason(host)
    if reason:
        return UrlCheck(False, reason, host)
    return UrlCheck(True, "", host, needs_dns=parse_ip(host) is None)
