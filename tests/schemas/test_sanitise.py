"""Cloud sanitisation and the internal-address classifier."""

from __future__ import annotations

import pytest

from schemas import decode_environment
from schemas.addresses import check_outbound_url, internal_host_reason
from schemas.sanitise import sanitise_for_cloud


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://localhost./",
    "http://foo.localhost/", "http://0/", "http://0.0.0.0/", "http://10.1.2.3/", "http://192.168.0.1:8080/",
    "http://169.254.169.254/latest/meta-data", "http://user:pass@127.0.0.1/", "http://good.com@10.0.0.1/",
    "http://[fe80::1%25eth0]/", "http://100.64.0.1/", "http://metadata.google.internal/", "http://[2002:7f00:1::]/",
    "http://intranet/", "file:///etc/passwd", "gopher://example.com/",
])
def test_internal_targets_are_refused(url: str) -> None:
    assert not check_outbound_url(url).allowed, url


@pytest.mark.parametrize("url", ["https://api.example.com/hook", "http://93.184.216.34/", "https://[2606:4700::1111]/"])
def test_public_targets_are_allowed(url: str) -> None:
    assert check_outbound_url(url).allowed, url


def test_names_needing_dns_are_flagged_for_connection_time() -> None:
    assert check_outbound_url("https://api.example.com").needs_dns
    assert check_outbound_url("{{baseUrl}}/x").needs_dns
    assert internal_host_reason("example.com") is None


def test_sanitiser_reports_without_touching_input() -> None:
    env, _ = decode_environment(b"""{"lastMigration": 33, "hostname": "0.0.0.0", "proxyMode": true,
      "proxyHost": "http://127.0.0.1:9000", "tlsOptions": {"enabled": true},
      "callbacks": [{"name": "cb", "uri": "http://10.0.0.2/x"}],
      "routes": [{"uuid": "00000000-0000-4000-8000-00000000000a", "endpoint": "f", "responses": [{"uuid": "00000000-0000-4000-8000-00000000000b", "bodyType": "FILE", "filePath": "/etc/passwd"}]}]}""")
    clean, warnings = sanitise_for_cloud(env)
    codes = [w.code for w in warnings]
    assert codes == ["TLS_DISABLED", "HOSTNAME_IGNORED", "FILE_BODY_NOT_SERVED", "PROXY_DISABLED", "CALLBACK_DISABLED"]
    assert warnings[2].route_uuid.endswith("a") and warnings[2].response_uuid.endswith("b")
    # proxy mode and callbacks stay: the worker's guard refuses them at each request, as Mockoon fails
    assert clean.proxy_mode and not clean.tls_options.enabled and clean.callbacks[0].uri == "http://10.0.0.2/x"
    assert env.proxy_mode and env.tls_options.enabled
    assert "127.0.0.1:9000 is not a public address: loopback" in warnings[3].message and warnings[3].path == "$.proxyHost"
    assert "10.0.0.2 is not a public address: private (RFC 1918)" in warnings[4].message
    assert warnings[4].path == "$.callbacks[0].uri"


def test_sanitiser_follows_the_operators_rules() -> None:
    from schemas.outbound import Guard, OutboundSettings

    env, _ = decode_environment(b"""{"lastMigration": 33, "proxyMode": true, "proxyHost": "http://10.1.2.3:8080",
      "callbacks": [{"name": "a", "uri": "https://hooks.example.com/x"}, {"name": "b", "uri": "{{urlParam 'u'}}"},
                    {"name": "c", "uri": "http://intranet.corp/x"}, {"name": "d", "uri": "http://8.8.8.8/"}]}""")
    guard = Guard.from_settings(OutboundSettings(allow=["10.0.0.0/8"], resolve=["intranet.corp=192.168.1.1"]))
    _, warnings = sanitise_for_cloud(env, guard)
    assert [(w.code, w.path) for w in warnings] == [
        ("CHECKED_AT_CONNECTION", "$.callbacks[0].uri"), ("CHECKED_AT_CONNECTION", "$.callbacks[1].uri"),
        ("CALLBACK_DISABLED", "$.callbacks[2].uri")]
    assert "intranet.corp (192.168.1.1) is not a public address" in warnings[2].message
