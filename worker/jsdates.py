"""JavaScript ``Date`` semantics the worker needs: ``new Date(value)`` parsing and
``Date.prototype.toString()``, in local time like Node."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .jsvalues import UNDEFINED, is_nan, unsafe

_ISO = re.compile(
    r"^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.I,
)


def parse_js_date(value: Any) -> datetime | None:
    """``new Date(value)`` for numbers and ISO-like strings; None for an Invalid Date."""
    value = unsafe(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool) or value is None or value is UNDEFINED:
        return None
    if isinstance(value, (int, float)):
        if is_nan(value):
            return None
        try:
            return datetime.fromtimestamp(value / 1000, UTC).astimezone()
        except (OverflowError, OSError, ValueError):  # past Python's years: an Invalid Date here
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _ISO.match(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            dt = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                          int(second or 0), int((fraction or "0").ljust(6, "0")[:6]))
        except ValueError:
            return None
        if zone:
            if zone.upper() == "Z":
                return dt.replace(tzinfo=UTC).astimezone()
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return (dt - sign * offset).replace(tzinfo=UTC).astimezone()
        if hour is None:
            return dt.replace(tzinfo=UTC).astimezone()  # date-only forms are UTC in JS
        return dt.astimezone()
    try:
        from dateutil import parser as du_parser

        parsed = du_parser.parse(re.sub(r"\([^)]*\)", " ", text))  # V8 skips parenthesised comments
        return parsed.astimezone() if parsed.tzinfo else parsed.astimezone()
    except (ValueError, OverflowError):
        return None


# date-fns ``format``: a letter and an ``o`` (ordinal), a run of one letter, or quoted text
def utc_offset(dt: datetime, colon: bool, optional_minutes: bool, z: bool) -> str:
    delta = dt.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    if minutes == 0 and z:
        return "Z"
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    if optional_minutes and mins == 0:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


# the long names Node (ICU) prints in Date strings for the zones Python names by abbreviation
_ICU_ZONE_NAMES = {"UTC": "Coordinated Universal Time", "GMT": "Greenwich Mean Time",
                   "CET": "Central European Standard Time", "CEST": "Central European Summer Time",
                   "EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time",
                   "PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time"}


def js_date_string(dt: datetime) -> str:
    """``Date.prototype.toString()``."""
    offset = utc_offset(dt, False, False, False)
    name = dt.tzname() or ""
    name = _ICU_ZONE_NAMES.get(name, name)
    return dt.strftime("%a %b %d %Y %H:%M:%S") + f" GMT{offset} ({name})"


