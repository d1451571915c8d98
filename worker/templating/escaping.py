"""What a mustache prints: Handlebars' HTML escape table and the value-to-text rule."""

from __future__ import annotations

from typing import Any

from ..jsvalues import UNDEFINED, SafeString, to_output

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
ESCAPE_TABLE = str.maketrans(ESCAPES)
NEEDS_ESCAPE = frozenset(ESCAPES)


def escape_html(text: str) -> str:
    if NEEDS_ESCAPE.isdisjoint(text):
        return text
    return text.translate(ESCAPE_TABLE)


def mustache_text(value: Any, escaped: bool) -> str:
    """``{{value}}`` (escaped) or ``{{{value}}}``: null and undefined print nothing, a
    SafeString prints as it is, anything else as JavaScript's ``String()``."""
    if value is UNDEFINED or value is None:
        return ""
    if isinstance(value, SafeString):
        return str.__str__(value)
    text = to_output(value)
    return escape_html(text) if escaped else text
