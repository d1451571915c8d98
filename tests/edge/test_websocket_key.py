"""The API key forms a browser's WebSocket can carry, taken out before forwarding (no sockets)."""

from __future__ import annotations

from edge.websocket_key import browser_key, key_from_protocols, key_from_query


def test_token_parameter_is_taken_and_removed() -> None:
    assert key_from_query(b"/feed?token=abc&x=1") == ("abc", b"/feed?x=1")
    assert key_from_query(b"/feed?x=1&token=a%2Bb") == ("a+b", b"/feed?x=1")
    assert key_from_query(b"/feed?token=abc") == ("abc", b"/feed")
    assert key_from_query(b"/feed?token=one&token=two") == ("one", b"/feed")  # every copy leaves


def test_targets_without_a_token_are_untouched() -> None:
    assert key_from_query(b"/feed") == ("", b"/feed")
    assert key_from_query(b"/feed?tokens=1&x") == ("", b"/feed?tokens=1&x")


def test_key_subprotocol_is_taken_and_the_others_kept() -> None:
    headers = [(b"host", b"h"), (b"sec-websocket-protocol", b"chat, mockfleet.bearer.K3y-_x")]
    assert key_from_protocols(headers) == ("K3y-_x", [(b"host", b"h"), (b"sec-websocket-protocol", b"chat")])


def test_protocol_field_goes_when_only_the_key_was_in_it() -> None:
    assert key_from_protocols([(b"sec-websocket-protocol", b"mockfleet.bearer.k")]) == ("k", [])


def test_subprotocol_wins_over_the_query_and_both_are_removed() -> None:
    key, target, headers = browser_key(b"/f?token=q", [(b"sec-websocket-protocol", b"mockfleet.bearer.p")])
    assert (key, target, headers) == ("p", b"/f", [])
