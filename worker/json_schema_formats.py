"""The formats ajv-formats 3 ("full" mode) gives Ajv, as plain Python checks.

Each check takes the instance and answers as ajv-formats does: string formats pass any
non-string, number formats (int32, int64, float, double) pass any non-number.  Only ASCII
letters and digits count where ajv-formats' expressions say [a-z] or \\d.  The comparisons
for formatMinimum/formatMaximum live here too (``COMPARE``).
"""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Callable
from typing import Any

from .js_regex import JS_SPACES, LINE_TERMINATORS, is_valid_js_regex

ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
HEX = DIGITS + "abcdefABCDEF"
ALNUM = ALPHA + DIGITS
UNRESERVED = ALNUM + "-._~"
SUB_DELIMS = "!$&'()*+,;="


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _digits(s: str, n: int | None = None) -> bool:
    return bool(s) and all(c in DIGITS for c in s) and (n is None or len(s) == n)


# -- dates and times ---------------------------------------------------------------------------

def _parse_date(s: str) -> bool:
    if len(s) != 10 or s[4] != "-" or s[7] != "-":
        return False
    y, m, d = s[:4], s[5:7], s[8:]
    if not (_digits(y) and _digits(m) and _digits(d)):
        return False
    month, day = int(m), int(d)
    if not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(2000 if month == 2 and calendar.isleap(int(y)) else 2001, month)[1]


def _split_time(s: str) -> tuple[int, int, float, str, int, int, int] | None:
    """HH:MM:SS[.frac][Z|(+|-)HH[[:]MM]] -> (h, m, sec, tz, sign, tzh, tzm); tz is '' when absent."""
    if len(s) < 8 or s[2] != ":" or s[5] != ":":
        return None
    hh, mm, rest = s[:2], s[3:5], s[6:]
    if not (_digits(hh, 2) and _digits(mm, 2) and _digits(rest[:2], 2)):
        return None
    k = 2
    if k < len(rest) and rest[k] == ".":
        j = k + 1
        while j < len(rest) and rest[j] in DIGITS:
            j += 1
        if j == k + 1:
            return None
        k = j
    sec = float(rest[:k])
    tz = rest[k:]
    sign, tzh, tzm = 1, 0, 0
    if tz in ("", "z", "Z"):
        pass
    elif tz[0] in "+-":
        body = tz[1:]
        if _digits(body, 2):
            tzh = int(body)
        elif len(body) == 5 and body[2] == ":" and _digits(body[:2]) and _digits(body[3:]):
            tzh, tzm = int(body[:2]), int(body[3:])
        elif _digits(body, 4):
            tzh, tzm = int(body[:2]), int(body[2:])
        else:
            return None
        sign = -1 if tz[0] == "-" else 1
    else:
        return None
    return int(hh), int(mm), sec, tz, sign, tzh, tzm


def _time_ok(s: str, need_zone: bool) -> bool:
    parts = _split_time(s)
    if parts is None:
        return False
    hour, minute, sec, tz, sign, tzh, tzm = parts
    if tzh > 23 or tzm > 59 or (need_zone and not tz):
        return False
    if hour <= 23 and minute <= 59 and sec < 60:
        return True
    # a leap second is only 23:59:60 in UTC
    utc_minute = minute - sign * tzm
    utc_hour = hour - sign * tzh - (1 if utc_minute < 0 else 0)
    return utc_hour in (23, -1) and utc_minute in (59, -1) and sec < 61


_DT_SEPARATORS = re.compile("[tT" + re.escape(JS_SPACES) + "]")


def _date_time_ok(s: str, need_zone: bool) -> bool:
    parts = _DT_SEPARATORS.split(s)
    return len(parts) == 2 and _parse_date(parts[0]) and _time_ok(parts[1], need_zone)


def _string_check(test: Callable[[str], bool]) -> Callable[[Any], bool]:
    def check(instance: Any) -> bool:
        return not isinstance(instance, str) or test(instance)
    return check


def _duration(s: str) -> bool:
    if not s.startswith("P") or len(s) == 1:
        return False
    body = s[1:]
    if body.endswith("W"):
        return _digits(body[:-1])
    date_part, t, time_part = body.partition("T")
    if t and not time_part:
        return False
    return _designators(date_part, "YMD") and _designators(time_part, "HMS")


def _designators(s: str, order: str) -> bool:
    """Digits followed by designators from order, each at most once and in that order."""
    allowed = order
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] in DIGITS:
            j += 1
        if j == i or j == len(s) or s[j] not in allowed:
            return False
        allowed = allowed[allowed.index(s[j]) + 1:]
        i = j + 1
    return True


# -- hosts and addresses ----------------------------------------------------------------------

def _ipv4(s: str, leading_zeros: bool) -> bool:
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not _digits(p) or len(p) > 3 or int(p) > 255:
            return False
        if not leading_zeros and len(p) > 1 and p[0] == "0":
            return False
    return True


def _ipv6(s: str, leading_zero_v4: bool) -> bool:
    """Eight groups of 1-4 hex digits (the last two may be an IPv4 address); '::' once stands
    for at least one group."""
    def units(part: str, allow_v4: bool) -> int | None:
        if part == "":
            return 0
        groups = part.split(":")
        n = 0
        for k, g in enumerate(groups):
            if allow_v4 and k == len(groups) - 1 and "." in g:
                if not _ipv4(g, leading_zero_v4):
                    return None
                n += 2
            elif 1 <= len(g) <= 4 and all(c in HEX for c in g):
                n += 1
            else:
                return None
        return n

    if s.count("::") > 1:
        return False
    if "::" in s:
        left, _, right = s.partition("::")
        nl, nr = units(left, False), units(right, True)
        return nl is not None and nr is not None and nl + nr <= 7
    return units(s, True) == 8


def _hostname(s: str) -> bool:
    if not (len(s) <= 253 or (len(s) == 254 and s.endswith("."))):
        return False
    body = s[:-1] if s.endswith(".") else s
    labels = body.split(".")
    for label in labels:
        if not 1 <= len(label) <= 63 or not all(c in ALNUM or c == "-" for c in label):
            return False
        if label[0] == "-" or label[-1] == "-":
            return False
    return True


_ATEXT = ALNUM + "!#$%&'*+/=?^_`{|}~-"


def _email(s: str) -> bool:
    local, at, domain = s.rpartition("@")
    if not at:
        return False
    if not all(atom and all(c in _ATEXT for c in atom) for atom in local.split(".")):
        return False
    labels = domain.split(".")
    if len(labels) < 2:
        return False
    return all(lab and all(c in ALNUM or c == "-" for c in lab) and lab[0] != "-" and lab[-1] != "-"
               for lab in labels)


# -- URIs (RFC 3986 as ajv-formats reads it) ------------------------------------------------

def _pct_ok(s: str, allowed: str) -> bool:
    i = 0
    while i < len(s):
        c = s[i]
        if c == "%":
            if i + 2 >= len(s) + 0 and not (i + 2 < len(s) + 1):
                return False
            pair = s[i + 1:i + 3]
            if len(pair) != 2 or not all(h in HEX for h in pair):
                return False
            i += 3
            continue
        if c not in allowed:
            return False
        i += 1
    return True


class _UriRules:
    def __init__(self, quote: bool) -> None:
        q = '"' if quote else ""
        self.userinfo = UNRESERVED + SUB_DELIMS + ":"
        self.reg_name = UNRESERVED + SUB_DELIMS + q
        self.pchar = UNRESERVED + SUB_DELIMS + q + ":@"
        self.query = self.pchar + "/?"


_URI = _UriRules(quote=False)
_URI_REF = _UriRules(quote=True)


def _scheme_end(s: str) -> int:
    """Index of the ':' closing a scheme at the start of s, or -1."""
    if not s or s[0] not in ALPHA:
        return -1
    i = 1
    while i < len(s) and (s[i] in ALNUM or s[i] in "+-."):
        i += 1
    return i if i < len(s) and s[i] == ":" else -1


def _host(h: str, rules: _UriRules) -> bool:
    if h.startswith("[") and h.endswith("]"):
        inner = h[1:-1]
        if inner[:1] in ("v", "V"):
            dot = inner.find(".")
            return (dot > 1 and all(c in HEX for c in inner[1:dot]) and len(inner) > dot + 1
                    and all(c in UNRESERVED + SUB_DELIMS + ":" for c in inner[dot + 1:]))
        return _ipv6(inner, leading_zero_v4=True)
    return _pct_ok(h, rules.reg_name)


def _authority(a: str, rules: _UriRules) -> bool:
    userinfo, at, hostport = a.rpartition("@")
    if at and not _pct_ok(userinfo, rules.userinfo):
        return False
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return False
        host, port = hostport[:close + 1], hostport[close + 1:]
    else:
        colon = hostport.rfind(":")
        host, port = (hostport, "") if colon < 0 else (hostport[:colon], hostport[colon:])
    if port and not (port[0] == ":" and all(c in DIGITS for c in port[1:])):
        return False
    if _host(host, rules):
        return True
    # without a port, an IPv4-looking host with leading zeros is still a reg-name
    return False


def _segments(path: str, rules: _UriRules) -> bool:
    return all(_pct_ok(seg, rules.pchar) for seg in path.split("/"))


def _hier_part(h: str, rules: _UriRules, allow_empty: bool) -> bool:
    if h == "":
        return allow_empty
    if h.startswith("/"):
        # "/" or "//" then an authority (ajv-formats also reads "/host/path" this way), or an
        # absolute path
        for skip in (2, 1) if h.startswith("//") else (1,):
            rest = h[skip:]
            slash = rest.find("/")
            auth, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
            if _authority(auth, rules) and _segments(path, rules):
                return True
        first = h[1:].split("/", 1)[0]
        return (h == "/" or first != "") and _segments(h[1:], rules)
    return h.split("/", 1)[0] != "" and _segments(h, rules)


def _uri_like(s: str, rules: _UriRules, need_scheme: bool) -> bool:
    end = _scheme_end(s)
    if end < 0 and need_scheme:
        return False
    rest = s[end + 1:] if end >= 0 else s
    rest, hash_, fragment = rest.partition("#")
    if hash_ and not _pct_ok(fragment, rules.query):
        return False
    rest, qmark, query = rest.partition("?")
    if qmark and not _pct_ok(query, rules.query):
        return False
    if end < 0 and not need_scheme:
        return _hier_part(rest, rules, allow_empty=True)
    if _hier_part(rest, rules, allow_empty=not need_scheme):
        return True
    if not need_scheme:
        # "a:b" may also be read as a relative path whose first segment holds a colon
        return _hier_part(s.partition("#")[0].partition("?")[0], rules, allow_empty=True)
    return False


def _uri(s: str) -> bool:
    return _uri_like(s, _URI, need_scheme=True)


def _uri_reference(s: str) -> bool:
    return _uri_like(s, _URI_REF, need_scheme=False)


def _uri_template(s: str) -> bool:
    i = 0
    forbidden = set("\"'<>%\\^`{|}")
    while i < len(s):
        c = s[i]
        if c == "%":
            if len(s) < i + 3 or not all(h in HEX for h in s[i + 1:i + 3]):
                return False
            i += 3
        elif c == "{":
            close = s.find("}", i)
            if close < 0 or not _template_expression(s[i + 1:close]):
                return False
            i = close + 1
        elif ord(c) <= 0x20 or c in forbidden:
            return False
        else:
            i += 1
    return True


def _template_expression(e: str) -> bool:
    if e[:1] and e[0] in "+#./;?&=,!@|":
        e = e[1:]
    for spec in e.split(","):
        name, colon, length = spec.partition(":")
        if not colon and name.endswith("*"):
            name = name[:-1]
        if not name or not _pct_ok(name, ALNUM + "_"):
            return False
        if colon and not (_digits(length) and length[0] != "0" and len(length) <= 4):
            return False
    return True


_URL_SPACE = set(JS_SPACES)


def _url_host_char(c: str, letters_only: bool = False) -> bool:
    if c in ALPHA or ("\u00a1" <= c <= "\uffff"):
        return True
    return not letters_only and c in DIGITS


def _url_hostname(h: str) -> bool:
    labels = h.split(".")
    if len(labels) < 2:
        return False
    *names, tld = labels
    if len(tld) < 2 or not all(_url_host_char(c, letters_only=True) for c in tld):
        return False
    for name in names:
        if not name or any(not piece or not all(_url_host_char(c) for c in piece) for piece in name.split("-")):
            return False
    return True


def _url_ip(h: str) -> bool:
    parts = h.split(".")
    if len(parts) != 4 or not all(_digits(p) for p in parts):
        return False
    a, b, c, d = parts
    ia = int(a)
    if a[0] == "0" or not 1 <= ia <= 223 or len(a) > 3:
        return False
    for mid in (b, c):
        if len(mid) > 3 or int(mid) > 255 or (len(mid) == 3 and mid[0] not in "12"):
            return False
    if d[0] == "0" or len(d) > 3 or not 1 <= int(d) <= 254:
        return False
    ib, ic = int(b), int(c)
    if ia in (10, 127) or (ia, ib) in ((169, 254), (192, 168)) or (ia == 172 and 16 <= ib <= 31):
        return False
    # ajv-formats rules out private ranges by looking at the digits that follow, so "10.1.2.3"
    # and "172.16.0.1" with longer octets are out too
    del ic
    return True


def _url(s: str) -> bool:
    for scheme in ("http://", "https://", "ftp://"):
        if s[:len(scheme)].lower() == scheme:
            rest = s[len(scheme):]
            break
    else:
        return False
    starts = [0] + [i + 1 for i, c in enumerate(rest) if c == "@" and i > 0]
    for start in starts:
        if start and any(c in _URL_SPACE for c in rest[:start - 1]):
            break
        if _url_host_port_path(rest[start:]):
            return True
    return False


def _url_host_port_path(s: str) -> bool:
    end = len(s)
    for k, c in enumerate(s):
        if c in ":/":
            end = k
            break
    host, tail = s[:end], s[end:]
    if not (_url_ip(host) or _url_hostname(host)):
        return False
    if tail.startswith(":"):
        j = 1
        while j < len(tail) and tail[j] in DIGITS:
            j += 1
        if not 3 <= j <= 6:
            return False
        tail = tail[j:]
    if tail == "":
        return True
    return tail.startswith("/") and not any(c in _URL_SPACE for c in tail)


# -- the rest -----------------------------------------------------------------------------------

def _uuid(s: str) -> bool:
    if s[:9].lower() == "urn:uuid:":
        s = s[9:]
    groups = s.split("-")
    return [len(g) for g in groups] == [8, 4, 4, 4, 12] and all(c in HEX for g in groups for c in g)


def _pointer_tokens_ok(body: str, allowed: Callable[[str], bool]) -> bool:
    i = 0
    while i < len(body):
        c = body[i]
        if c == "~":
            if body[i + 1:i + 2] not in ("0", "1"):
                return False
            i += 2
        elif allowed(c):
            i += 1
        else:
            return False
    return True


def _json_pointer(s: str) -> bool:
    return s == "" or (s[0] == "/" and _pointer_tokens_ok(s, lambda c: True))


_FRAGMENT_CHARS = set(ALNUM + "_-.!$&'()*+,;:=@/")


def _json_pointer_fragment(s: str) -> bool:
    if not s.startswith("#"):
        return False
    body = s[1:]
    if body and body[0] != "/":
        return False
    out, i = [], 0
    while i < len(body):  # percent-escapes are fine; check them and drop them
        if body[i] == "%":
            if not all(h in HEX for h in body[i + 1:i + 3]) or len(body[i + 1:i + 3]) != 2:
                return False
            i += 3
            out.append("x")
        else:
            out.append(body[i])
            i += 1
    return _pointer_tokens_ok("".join(out), lambda c: c in _FRAGMENT_CHARS)


def _relative_json_pointer(s: str) -> bool:
    j = 0
    while j < len(s) and s[j] in DIGITS:
        j += 1
    if j == 0 or (s[0] == "0" and j > 1):
        return False
    rest = s[j:]
    return rest == "#" or _json_pointer(rest)


_B64 = set(ALNUM + "+/")


def _base64_line(line: str) -> bool:
    if len(line) % 4:
        return False
    body = line.rstrip("=")
    pad = len(line) - len(body)
    return pad <= 2 and all(c in _B64 for c in body)


def _byte(s: str) -> bool:
    # ajv-formats' expression is multi-line: one line of base64 (an empty one too) is enough
    lines = re.split("[" + LINE_TERMINATORS + "]", s)
    return any(_base64_line(line) for line in lines)


def _regex(s: str) -> bool:
    for k in range(1, len(s) - 1):
        if s[k] == "\\" and s[k + 1] == "Z" and s[k - 1] != "\\":
            return False
    return is_valid_js_regex(s, unicode=False)


def _is_js_integer(x: Any) -> bool:
    return isinstance(x, int) or (isinstance(x, float) and math.isfinite(x) and x.is_integer())


def _int32(x: Any) -> bool:
    return not _is_number(x) or (_is_js_integer(x) and -(2**31) <= x <= 2**31 - 1)


def _int64(x: Any) -> bool:
    return not _is_number(x) or _is_js_integer(x)


def _always(_: Any) -> bool:
    return True


FORMATS: dict[str, Callable[[Any], bool]] = {
    "date": _string_check(_parse_date),
    "time": _string_check(lambda s: _time_ok(s, need_zone=True)),
    "date-time": _string_check(lambda s: _date_time_ok(s, need_zone=True)),
    "iso-time": _string_check(lambda s: _time_ok(s, need_zone=False)),
    "iso-date-time": _string_check(lambda s: _date_time_ok(s, need_zone=False)),
    "duration": _string_check(_duration),
    "uri": _string_check(_uri),
    "uri-reference": _string_check(_uri_reference),
    "uri-template": _string_check(_uri_template),
    "url": _string_check(_url),
    "email": _string_check(_email),
    "hostname": _string_check(_hostname),
    "ipv4": _string_check(lambda s: _ipv4(s, leading_zeros=False)),
    "ipv6": _string_check(lambda s: _ipv6(s, leading_zero_v4=False)),
    "regex": _string_check(_regex),
    "uuid": _string_check(_uuid),
    "json-pointer": _string_check(_json_pointer),
    "json-pointer-uri-fragment": _string_check(_json_pointer_fragment),
    "relative-json-pointer": _string_check(_relative_json_pointer),
    "byte": _string_check(_byte),
    "int32": _int32,
    "int64": _int64,
    "float": _always,
    "double": _always,
    "password": _always,
    "binary": _always,
}


# -- formatMinimum / formatMaximum ----------------------------------------------------------------

def _time_millis(s: str) -> float | None:
    """What Date("2020-01-01T" + s) gives, as milliseconds; None where V8 gives NaN."""
    parts = _split_time(s)
    if parts is None or len(s) < 8:
        return None
    hour, minute, sec, tz, sign, tzh, tzm = parts
    body = s[:len(s) - len(tz)]
    if hour > 24 or minute > 59 or sec >= 60 or (hour == 24 and (minute or sec)):
        return None
    if tz and tz not in ("z", "Z") and not (len(tz) == 6 and tz[3] == ":") and len(tz) != 5:
        return None  # V8 reads Z, z, +HH:MM and +HHMM, not +HH
    del body
    whole = int(sec)
    millis = int(round((sec - whole) * 1000, 6)) if "." in s[:8 + 20] else 0
    base = calendar.timegm((2020, 1, 1, hour, minute, whole, 0, 0, 0))
    if not tz:
        base = int(time.mktime((2020, 1, 1, hour, minute, whole, 0, 0, -1)))
    elif tz not in ("Z", "z"):
        base -= sign * (tzh * 3600 + tzm * 60)
    return base * 1000.0 + millis


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def _compare_date(a: str, b: str) -> int | None:
    if not (a and b):
        return None
    return _cmp(a, b)


def _compare_time(a: str, b: str) -> float | None:
    if not (a and b):
        return None
    t1, t2 = _time_millis(a), _time_millis(b)
    if not (t1 and t2):
        return None
    return t1 - t2


def _compare_iso_time(a: str, b: str) -> int | None:
    if not (a and b):
        return None
    p1, p2 = _split_time(a), _split_time(b)
    if p1 is None or p2 is None:
        return None
    k1 = a[:2] + a[3:5] + a[6:len(a) - len(p1[3])]
    k2 = b[:2] + b[3:5] + b[6:len(b) - len(p2[3])]
    return _cmp(k1, k2)


def _date_time_millis(s: str) -> float | None:
    parts = _DT_SEPARATORS.split(s)
    if len(parts) != 2 or not _parse_date(parts[0]) or len(parts[0]) != 10:
        return None
    t = _time_millis(parts[1])
    if t is None:
        return None
    y, m, d = int(parts[0][:4]), int(parts[0][5:7]), int(parts[0][8:])
    shift = calendar.timegm((y, m, d, 0, 0, 0, 0, 0, 0)) - calendar.timegm((2020, 1, 1, 0, 0, 0, 0, 0, 0))
    return t + shift * 1000.0


def _compare_date_time(a: str, b: str) -> float | None:
    if not (a and b):
        return None
    t1, t2 = _date_time_millis(a), _date_time_millis(b)
    if not (t1 and t2):
        return None
    return t1 - t2


def _compare_iso_date_time(a: str, b: str) -> float | None:
    if not (a and b):
        return None
    d1, t1 = (_DT_SEPARATORS.split(a) + [""])[:2]
    d2, t2 = (_DT_SEPARATORS.split(b) + [""])[:2]
    res = _compare_date(d1, d2)
    if res is None:
        return None
    return res or _compare_time(t1, t2)


COMPARE: dict[str, Callable[[str, str], float | None]] = {
    "date": _compare_date,
    "time": _compare_time,
    "date-time": _compare_date_time,
    "iso-time": _compare_iso_time,
    "iso-date-time": _compare_iso_date_time,
}
