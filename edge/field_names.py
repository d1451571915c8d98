"""Header field names checked against RFC 9110's token grammar and lower-cased, with a small
cache: nearly every request and response repeats the same few names, and a dict lookup costs
a fifth of a regular-expression match plus ``lower()``."""

from __future__ import annotations

import re

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_KNOWN: dict[bytes, bytes] = {}
_KNOWN_MAX = 1024


def lower_field_name(raw: bytes) -> bytes | None:
    """The lower-case form of a valid field name, None for an invalid one."""
    name = _KNOWN.get(raw)
    if name is not None:
        return name
    if _TOKEN.fullmatch(raw) is None:
        return None
    name = raw.lower()
    if len(_KNOWN) < _KNOWN_MAX:
        _KNOWN[raw] = name
    return name
