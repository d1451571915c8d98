"""Date helpers: ``new Date(...)`` parsing and date-fns ``format`` tokens, in local time like node."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from ..compiler import Options
from ..errors import TemplateError
from ..jsvalues import UNDEFINED, is_nan, parse_int, unsafe

DEFAULT_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSxxx"

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
        return datetime.fromtimestamp(value / 1000, UTC).astimezone()
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


_TOKEN = re.compile(r"'(?:[^']|'')*'|(\w)\1*|.", re.S)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _offset(dt: datetime, colon: bool, optional_minutes: bool, z: bool) -> str:
    delta = dt.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    if minutes == 0 and z:
        return "Z"
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    if optional_minutes and mins == 0:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


def format_date(dt: datetime, fmt: str) -> str:
    """date-fns ``format`` for the tokens Mockoon users write."""
    out: list[str] = []
    for match in _TOKEN.finditer(fmt):
        token = match.group(0)
        if token.startswith("'"):
            out.append("'" if token == "''" else token[1:-1].replace("''", "'"))
            continue
        char, size = token[0], len(token)
        if not char.isalpha():
            out.append(token)
            continue
        out.append(_format_token(dt, char, size, token))
    return "".join(out)


def _format_token(dt: datetime, char: str, size: int, token: str) -> str:
    if char in "yY":
        year = dt.year if char == "y" else dt.isocalendar().year
        if size == 2:
            return f"{year % 100:02d}"
        if size == 1:
            return str(year)
        return f"{year:0{size}d}"
    if char == "u":
        return f"{dt.year:0{size}d}"
    if char in "ML":
        if size == 1:
            return str(dt.month)
        if size == 2:
            return f"{dt.month:02d}"
        if size == 3:
            return _MONTHS[dt.month - 1][:3]
        if size == 5:
            return _MONTHS[dt.month - 1][0]
        return _MONTHS[dt.month - 1]
    if char == "d":
        return f"{dt.day:0{size}d}" if size <= 2 else token
    if char == "D":
        doy = dt.timetuple().tm_yday
        return f"{doy:0{size}d}"
    if char == "Q":
        quarter = (dt.month - 1) // 3 + 1
        return {1: str(quarter), 2: f"{quarter:02d}", 3: f"Q{quarter}"}.get(size, f"{quarter}th quarter")
    if char in "Eei c".replace(" ", ""):
        if char in "eci" and size <= 2:
            number = dt.isoweekday() if char == "i" else dt.isoweekday() % 7 + 1
            return f"{number:0{size}d}"
        name = _DAYS[dt.weekday()]
        if size <= 3:
            return name[:3]
        if size == 5:
            return name[0]
        if size == 6:
            return name[:2]
        return name
    if char == "w":
        return f"{int(dt.strftime('%U')) + 1:0{size}d}"
    if char == "I":
        return f"{dt.isocalendar().week:0{size}d}"
    if char in "aAbB":
        meridiem = "AM" if dt.hour < 12 else "PM"
        if size <= 2:
            return meridiem
        if size == 3:
            return meridiem.lower()
        if size == 5:
            return meridiem[0].lower()
        return "a.m." if dt.hour < 12 else "p.m."
    if char == "h":
        hour = dt.hour % 12 or 12
        return f"{hour:0{size}d}"
    if char == "H":
        return f"{dt.hour:0{size}d}"
    if char == "K":
        return f"{dt.hour % 12:0{size}d}"
    if char == "k":
        return f"{dt.hour or 24:0{size}d}"
    if char == "m":
        return f"{dt.minute:0{size}d}"
    if char == "s":
        return f"{dt.second:0{size}d}"
    if char == "S":
        return f"{dt.microsecond:06d}"[:size].ljust(size, "0")
    if char in "Xx":
        z = char == "X"
        if size == 1:
            return _offset(dt, False, True, z)
        if size in (2, 4):
            return _offset(dt, False, False, z)
        return _offset(dt, True, False, z)
    if char == "O":
        return "GMT" + _offset(dt, size == 4, size < 4, False)
    if char == "t":
        return str(int(dt.timestamp()))
    if char == "T":
        return str(int(dt.timestamp() * 1000))
    if char == "o":
        return token
    raise TemplateError(f"Format string contains an unescaped latin alphabet character `{char}`")


def _format_or_error(dt: datetime, fmt: str) -> str:
    # 'do' (ordinal day) is the one two-letter token that is not a repetition
    if "do" in fmt:
        parts = re.split(r"(do)", fmt)
        return "".join(_ordinal(dt.day) if p == "do" else format_date(dt, p) for p in parts)
    return format_date(dt, fmt)


def now(opts: Options, fmt: Any = UNDEFINED, *rest: Any) -> str:
    return _format_or_error(opts.scope.now(), unsafe(fmt) if isinstance(fmt, str) else DEFAULT_FORMAT)


def date_format(opts: Options, *args: Any) -> str:
    if len(args) < 2 or not isinstance(args[1], str):
        return ""
    dt = parse_js_date(args[0])
    if dt is None:
        raise TemplateError("Invalid time value")
    return _format_or_error(dt, unsafe(args[1]))


def is_valid_date(opts: Options, *args: Any) -> bool:
    if not args:
        return False
    return parse_js_date(args[0]) is not None


def date_time_shift(opts: Options, *args: Any) -> str:
    hash_ = opts.hash
    base = hash_.get("date", UNDEFINED)
    fmt = unsafe(hash_.get("format", UNDEFINED))
    if base is UNDEFINED:
        dt = opts.scope.now()
    else:
        parsed = parse_js_date(base)
        if parsed is None:
            raise TemplateError("Invalid time value")
        dt = parsed
    shift: dict[str, int] = {}
    for key in ("days", "months", "years", "hours", "minutes", "seconds"):
        amount = parse_int(hash_.get(key, UNDEFINED))
        if not is_nan(amount):
            shift[key] = int(amount)
    dt = dt + relativedelta(**shift)  # type: ignore[arg-type]
    return _format_or_error(dt, fmt if isinstance(fmt, str) else DEFAULT_FORMAT)


def _between(opts: Options, start: datetime, end: datetime) -> datetime:
    low, high = sorted((start.timestamp(), end.timestamp()))
    return datetime.fromtimestamp(opts.scope.random.uniform(low, high), UTC).astimezone()


# the long names Node (ICU) prints in Date strings for the zones Python names by abbreviation
_ICU_ZONE_NAMES = {"UTC": "Coordinated Universal Time", "GMT": "Greenwich Mean Time",
                   "CET": "Central European Standard Time", "CEST": "Central European Summer Time",
                   "EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time",
                   "PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time"}


def js_date_string(dt: datetime) -> str:
    """``Date.prototype.toString()``."""
    offset = _offset(dt, False, False, False)
    name = dt.tzname() or ""
    name = _ICU_ZONE_NAMES.get(name, name)
    return dt.strftime("%a %b %d %Y %H:%M:%S") + f" GMT{offset} ({name})"


def date(opts: Options, *args: Any) -> str:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        start, end = parse_js_date(args[0]), parse_js_date(args[1])
        if start is None or end is None:
            raise TemplateError("Invalid time value")
        picked = _between(opts, start, end)
        if len(args) == 3 and isinstance(args[2], str):
            return _format_or_error(picked, unsafe(args[2]))
        return js_date_string(picked)
    return ""


def time(opts: Options, *args: Any) -> str:
    low, high = "00:00:00", "23:59:00"
    fmt = "HH:mm"
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        low, high = unsafe(args[0]), unsafe(args[1])
        if len(args) == 3 and isinstance(args[2], str):
            fmt = unsafe(args[2])
    start, end = parse_js_date(f"1970-01-01T{low}"), parse_js_date(f"1970-01-01T{high}")
    if start is None or end is None:
        raise TemplateError("Invalid time value")
    return _format_or_error(_between(opts, start, end), fmt)


HELPERS = {
    "now": now,
    "dateFormat": date_format,
    "isValidDate": is_valid_date,
    "dateTimeShift": date_time_shift,
    "date": date,
    "time": time,
}
