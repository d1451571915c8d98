"""Date helpers: ``new Date(...)`` parsing and date-fns ``format`` tokens, in local time like node."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from datetime import date as date_
from typing import Any

from ...jsdates import js_date_string, parse_js_date, utc_offset
from ...jsvalues import UNDEFINED, is_nan, parse_int, unsafe
from ..errors import TemplateError
from ..runtime import Options, helper_table

DEFAULT_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSxxx"

_TOKEN = re.compile(r"[yYQqMLwIdDecihHKkms]o|(\w)\1*|''|'(?:''|[^'])+(?:'|$)|.", re.S)
_LONG = re.compile(r"P+p+|P+|p+|''|'(?:''|[^'])+(?:'|$)|.", re.S)
_LONG_DATE = {1: "MM/dd/yyyy", 2: "MMM d, y", 3: "MMMM do, y", 4: "EEEE, MMMM do, y"}
_LONG_TIME = {1: "h:mm a", 2: "h:mm:ss a", 3: "h:mm:ss a z", 4: "h:mm:ss a zzzz"}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_QUARTERS = ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]
# en-US day periods: (abbreviated, narrow, wide); ``B`` reads the "in the ..." forms
_PERIODS = {"am": ("AM", "a", "a.m."), "pm": ("PM", "p", "p.m."), "noon": ("noon", "n", "noon"),
            "midnight": ("midnight", "mi", "midnight")}
_FLEXIBLE = {"morning": "in the morning", "afternoon": "in the afternoon", "evening": "in the evening",
             "night": "at night"}


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _gmt(dt: datetime, long: bool) -> str:
    """``O``/``z``: GMT+1, GMT+5:30 (short) or GMT+01:00 (long)."""
    if long:
        return "GMT" + utc_offset(dt, True, False, False)
    minutes = int((dt.utcoffset() or timedelta(0)).total_seconds() // 60)
    hours, mins = divmod(abs(minutes), 60)
    return f"GMT{'+' if minutes >= 0 else '-'}{hours}" + (f":{mins:02d}" if mins else "")


def _week_start(day: date_, iso: bool) -> date_:
    """The first day of ``day``'s week: Monday (ISO) or Sunday (en-US)."""
    return day - timedelta(days=day.weekday() if iso else (day.weekday() + 1) % 7)


def local_week(dt: datetime) -> tuple[int, int]:
    """en-US week numbering (weeks start on Sunday, week 1 holds January 1st): (week-year, week)."""
    day = dt.date()
    year = day.year + 1 if day >= _week_start(date_(day.year + 1, 1, 1), False) else day.year
    return year, (_week_start(day, False) - _week_start(date_(year, 1, 1), False)).days // 7 + 1


def _pad(number: int, size: int) -> str:
    return ("-" if number < 0 else "") + str(abs(number)).rjust(size, "0")


def _wide(names: list[str], index: int, token: str, narrow: int, short: int | None = None) -> str:
    """Month, weekday or quarter names by token length: 3 letters, narrow, short or wide."""
    size = len(token)
    name = names[index]
    if size == 3:
        return name[:3] if names is not _QUARTERS else f"Q{index + 1}"
    if size == narrow:
        return name[0] if names is not _QUARTERS else str(index + 1)
    if size == short:
        return name[:2]
    return name


def _period(token: str, period: str) -> str:
    abbreviated, narrow, wide = _PERIODS[period]
    size = len(token)
    return abbreviated if size <= 2 else abbreviated.lower() if size == 3 else narrow if size == 5 else wide


def _format_token(dt: datetime, token: str) -> str:
    char, size = token[0], len(token)
    ordinal = size == 2 and token[1] == "o"
    if char in "yYR":
        if char == "y":
            year = dt.year
        elif char == "Y":
            year = local_week(dt)[0]
        else:
            year = dt.isocalendar().year
        if ordinal:
            return _ordinal(year)
        return _pad(year % 100, 2) if size == 2 and char != "R" else _pad(year, size)
    if char == "u":
        return _pad(dt.year, size)
    if char in "wI":
        week = local_week(dt)[1] if char == "w" else dt.isocalendar().week
        return _ordinal(week) if ordinal else _pad(week, size)
    if char in "ML":
        if ordinal:
            return _ordinal(dt.month)
        return _pad(dt.month, size) if size <= 2 else _wide(_MONTHS, dt.month - 1, token, 5)
    if char in "Qq":
        quarter = (dt.month - 1) // 3 + 1
        if ordinal:
            return _ordinal(quarter)
        return _pad(quarter, size) if size <= 2 else _wide(_QUARTERS, quarter - 1, token, 5)
    if char == "d":
        return _ordinal(dt.day) if ordinal else _pad(dt.day, size)
    if char == "D":
        day_of_year = dt.timetuple().tm_yday
        return _ordinal(day_of_year) if ordinal else _pad(day_of_year, size)
    if char in "Eeci":
        weekday = (dt.weekday() + 1) % 7  # JavaScript's getDay: Sunday is 0
        if char != "E" and size <= 2:  # a number: ISO (Monday 1) or en-US (Sunday 1)
            number = dt.isoweekday() if char == "i" else weekday + 1
            return _ordinal(number) if ordinal else _pad(number, size)
        return _DAYS[weekday][:3] if char == "E" and size < 3 else _wide(_DAYS, weekday, token, 5, 6)
    if char == "a":
        return _period(token, "am" if dt.hour < 12 else "pm")
    if char == "b":
        period = "noon" if dt.hour == 12 else "midnight" if dt.hour == 0 else "am" if dt.hour < 12 else "pm"
        return _period(token, period)
    if char == "B":
        hour = dt.hour
        return _FLEXIBLE["evening" if hour >= 17 else "afternoon" if hour >= 12 else "morning" if hour >= 4 else "night"]
    if char in "hHKkms":
        value = {"h": dt.hour % 12 or 12, "H": dt.hour, "K": dt.hour % 12, "k": dt.hour or 24, "m": dt.minute,
                 "s": dt.second}[char]
        return _ordinal(value) if ordinal else _pad(value, size)
    if char == "S":
        return _pad(dt.microsecond // 1000 * 10 ** size // 1000, size)
    if char == "G":
        era = ("AD", "A", "Anno Domini") if dt.year > 0 else ("BC", "B", "Before Christ")
        return era[0] if size <= 3 else era[1] if size == 5 else era[2]
    if char in "Xx":
        z = char == "X"
        if size == 1:
            return utc_offset(dt, False, True, z)
        if size in (2, 4):
            return utc_offset(dt, False, False, z)
        return utc_offset(dt, True, False, z)
    if char in "Oz":
        return _gmt(dt, size >= 4)
    if char == "t":
        return str(int(dt.timestamp()))
    if char == "T":
        return str(int(dt.timestamp() * 1000))
    raise TemplateError(f"Format string contains an unescaped latin alphabet character `{char}`")


def _expand_long(fmt: str) -> str:
    """date-fns' ``P``/``p`` (localized date and time, en-US) written out as plain tokens."""
    out = []
    for match in _LONG.finditer(fmt):
        token = match.group(0)
        if token[0] not in "Pp":
            out.append(token)
            continue
        dates, times = len(token) - len(token.lstrip("P")), len(token.lstrip("P"))
        date_part = _LONG_DATE.get(min(dates, 4), "") if dates else ""
        time_part = _LONG_TIME.get(min(times, 4), "") if times else ""
        if date_part and time_part:
            out.append(date_part + (" 'at' " if dates >= 3 else ", ") + time_part)
        else:
            out.append(date_part or time_part)
    return "".join(out)


def format_date(dt: datetime, fmt: str) -> str:
    """date-fns ``format`` (en-US, with the additional week-year and day-of-year tokens allowed)."""
    if "P" in fmt or "p" in fmt:
        fmt = _expand_long(fmt)
    out: list[str] = []
    for match in _TOKEN.finditer(fmt):
        token = match.group(0)
        char = token[0]
        if char == "'":
            out.append("'" if token == "''" else token[1:-1 if token.endswith("'") and len(token) > 1 else None]
                       .replace("''", "'"))
        elif char.isascii() and char.isalpha():
            out.append(_format_token(dt, token))
        else:
            out.append(token)
    return "".join(out)


_format_or_error = format_date


def now(opts: Options, fmt: Any = UNDEFINED, *rest: Any) -> str:
    return _format_or_error(opts.scope.now(), unsafe(fmt) if isinstance(fmt, str) else DEFAULT_FORMAT)


def date_format(opts: Options, *args: Any) -> str:
    if len(args) < 2 or not isinstance(args[1], str) or not isinstance(args[0], (str, datetime)):
        return ""  # only strings are read as dates (numbers are not)
    dt = parse_js_date(args[0])
    if dt is None:
        raise TemplateError("Invalid time value")
    return _format_or_error(dt, unsafe(args[1]))


_JS_DATE_LIMIT = 8.64e15  # milliseconds either side of 1970 a JavaScript Date can hold


def is_valid_date(opts: Options, *args: Any) -> bool:
    if not args:
        return False
    value = unsafe(args[0])
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # past Python's years, within JavaScript's
        return not is_nan(value) and abs(value) <= _JS_DATE_LIMIT
    return parse_js_date(value) is not None


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
    wall = dt.replace(tzinfo=None)  # JavaScript's setDate/setMonth/...: local wall-clock fields
    for key in ("days", "months", "years", "hours", "minutes", "seconds"):
        amount = parse_int(hash_.get(key, UNDEFINED))
        if not is_nan(amount):
            wall = _shift(wall, key, int(amount))
    return _format_or_error(wall.astimezone(), fmt if isinstance(fmt, str) else DEFAULT_FORMAT)


def _shift(wall: datetime, unit: str, amount: int) -> datetime:
    """One of dateTimeShift's setters. A day past the month's end rolls over into the next
    month (January 31st plus a month is March 2nd or 3rd), as ``Date.setMonth`` does."""
    if unit in ("months", "years"):
        months = wall.year * 12 + wall.month - 1 + (amount if unit == "months" else amount * 12)
        first = wall.replace(year=months // 12, month=months % 12 + 1, day=1)
        return first + timedelta(days=wall.day - 1)
    return wall + timedelta(**{unit: amount})


def _between(opts: Options, start: datetime, end: datetime) -> datetime:
    low, high = sorted((start.timestamp(), end.timestamp()))
    return datetime.fromtimestamp(opts.scope.random.uniform(low, high), UTC).astimezone()


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


HELPERS = helper_table({
    "now": now,
    "dateFormat": date_format,
    "isValidDate": is_valid_date,
    "dateTimeShift": date_time_shift,
    "date": date,
    "time": time,
})
