"""The plain-HTTP redirect's Location and the TLS server name against Host, without sockets."""

from __future__ import annotations

import pytest

from edge.origin import misdirected, redirect_location


def test_origin_form_targets_keep_host_port_path_and_query() -> None:
    assert redirect_location("a.example", 8443, b"/x?y=1") == "https://a.example:8443/x?y=1"
    assert redirect_location("a.example", 443, b"/") == "https://a.example/"
    assert redirect_location("a.example", 443, b"//b.example/x") == "https://a.example//b.example/x"


@pytest.mark.parametrize("target", [b"@evil.example/x", b"http://evil.example/", b"*", b"evil.example:443",
                                    b".evil.example", b"?q"])
def test_other_forms_are_not_redirected(target: bytes) -> None:
    assert redirect_location("a.example", 8443, target) is None


def test_server_name_against_host() -> None:
    assert not misdirected("a.example", "a.example")
    assert not misdirected("a.example.", "a.example")
    assert not misdirected(None, "a.example")  # no SNI (an IP address): nothing to compare
    assert misdirected("a.example", "b.example")
