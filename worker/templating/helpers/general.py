"""Mockoon's general helpers: numbers, strings, arrays, objects, comparison and flow.

Each follows the JavaScript helper's argument coercion (helpers receive only their
positional arguments here; Handlebars' trailing ``options`` argument is ``opts``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import operator
import re
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cmp_to_key
from typing import Any

from ...jsvalues import (
    UNDEFINED,
    SafeString,
    is_nan,
    is_nullish,
    js_json_parse,
    json_stringify,
    normalise_number,
    parse_float,
    parse_int,
    to_number,
    to_string,
    unsafe,
)
from ..errors import TemplateError
from ..jsintegers import (
    check_string_length,
    js_random_int,
    relative_index,
    to_integer_or_infinity,
    to_length,
)
from ..runtime import Helper, Options, helper_table
from . import paths
from .collation import collation_key

# --- numbers -------------------------------------------------------------------------------


def _reduce(args: tuple[Any, ...], op: Any, skip_zero: bool = False) -> Any:
    if not args:
        return ""
    result: Any = args[0]
    for item in args[1:]:
        number = to_number(item)
        if not is_nan(number) and not (skip_zero and number == 0):
            result = op(to_number(result), number)
        else:
            result = to_number(result)
    return normalise_number(to_number(result))


def _js_div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or is_nan(a) else math.copysign(math.inf, a)
    return a / b


def add(opts: Options, *args: Any) -> Any:
    return _reduce(args, lambda a, b: a + b)


def subtract(opts: Options, *args: Any) -> Any:
    return _reduce(args, lambda a, b: a - b)


def multiply(opts: Options, *args: Any) -> Any:
    return _reduce(args, lambda a, b: a * b)


def divide(opts: Options, *args: Any) -> Any:
    return _reduce(args, _js_div, skip_zero=True)


def modulo(opts: Options, *args: Any) -> Any:
    if len(args) <= 1 or to_number(args[1]) == 0:
        return ""
    a, b = to_number(args[0]), to_number(args[1])
    if is_nan(a) or is_nan(b) or math.isinf(a):
        return math.nan  # Infinity % n is NaN in JavaScript (fmod raises)
    return normalise_number(math.fmod(a, b))


def _math1(fn: Any) -> Any:
    def helper(opts: Options, *args: Any) -> Any:
        if not args:
            return ""
        number = to_number(args[0])
        if is_nan(number) or math.isinf(number):
            return number
        return normalise_number(fn(number))

    return helper


def _js_round(number: float) -> int:
    return math.floor(number + 0.5)


_WIDE = Context(prec=200)  # 1e21 with 100 decimals fits; the default 28 digits raise InvalidOperation


def to_fixed(opts: Options, number: Any = UNDEFINED, digits: Any = UNDEFINED, *rest: Any) -> str:
    value = to_number(number)
    if is_nan(value):
        value = 0
    places = to_integer_or_infinity(digits)
    if not 0 <= places <= 100:  # Number.prototype.toFixed's RangeError, which Mockoon shows as is
        raise TemplateError("toFixed() digits argument must be between 0 and 100")
    if math.isinf(value) or abs(value) >= 1e21:  # toFixed gives such numbers as String(x) does
        return to_string(value)
    quantum = Decimal(1).scaleb(-int(places))
    return str(Decimal(float(value)).quantize(quantum, rounding=ROUND_HALF_UP, context=_WIDE))


def parse_int_helper(opts: Options, *args: Any) -> Any:
    if not args:
        return ""
    return parse_int(args[0])


# --- comparison -------------------------------------------------------------------------------


def eq(opts: Options, *args: Any) -> bool:
    if len(args) < 2:
        return False
    a, b = unsafe(args[0]), unsafe(args[1])
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return a is b
    return bool(a == b)


def _compare(op: Any) -> Any:
    def helper(opts: Options, a: Any = UNDEFINED, b: Any = UNDEFINED, *rest: Any) -> bool:
        if a.__class__ is int and b.__class__ is int:
            return op(a, b)  # type: ignore[no-any-return]
        x, y = to_number(a), to_number(b)
        if is_nan(x) or is_nan(y):
            return False
        return bool(op(x, y))

    return helper


# --- strings -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return to_string(unsafe(value))


def _string_or_empty(value: Any) -> str:
    """Mockoon's pattern: objects (and options) become '', anything else ``toString()``."""
    if isinstance(value, (dict, list)) or is_nullish(value):
        return ""
    return _text(value)


def _change_case(method: str) -> Any:
    """lowercase/uppercase: ``text.toLowerCase()`` on the first argument, whatever it is, so
    anything but a string fails as it does in JavaScript."""

    def helper(opts: Options, *args: Any) -> Any:
        if not args:
            return ""
        text = args[0]
        if isinstance(text, str):
            return str.lower(text) if method == "toLowerCase" else str.upper(text)
        if is_nullish(text):
            raise TemplateError(f"Cannot read properties of {to_string(text)} (reading '{method}')")
        raise TemplateError(f"text.{method} is not a function")

    return helper


lowercase = _change_case("toLowerCase")
uppercase = _change_case("toUpperCase")


def concat(opts: Options, *args: Any) -> Any:
    if args and isinstance(args[0], list):
        result: list[Any] = []
        for arg in args:
            result.extend(arg if isinstance(arg, list) else [arg])
        return result
    return "".join(to_string(unsafe(a)) for a in args)


def split(opts: Options, *args: Any) -> Any:
    if not args:
        return ""
    data = unsafe(args[0])
    separator = args[1] if len(args) >= 2 else None
    if not separator or not isinstance(separator, str):
        separator = " "
    if not data or not isinstance(data, str):
        return ""
    return data.split(unsafe(separator))


def join(opts: Options, arr: Any = UNDEFINED, sep: Any = UNDEFINED, *rest: Any) -> Any:
    if not isinstance(arr, list):
        return arr
    separator = str.__str__(sep) if isinstance(sep, str) else ", "
    return separator.join("" if is_nullish(v) else to_string(v) for v in arr)


_REPLACEMENT = re.compile(r"\$([$&`'])")


def _replace(count: int) -> Any:
    """``replace``/``replaceAll``: three strings or '', and JavaScript's ``$$ $& $` $'`` in the
    replacement (String.prototype.replace with a string or an escaped global pattern)."""

    def helper(opts: Options, *args: Any) -> Any:
        if len(args) < 3:
            return ""
        text, old, new = unsafe(args[0]), unsafe(args[1]), unsafe(args[2])
        if not isinstance(text, str) or not isinstance(old, str) or not isinstance(new, str):
            return ""
        if old == "" or "$" not in new:
            return text if old == "" else text.replace(old, new, count)
        out: list[str] = []
        start, left = 0, count
        while left and (found := text.find(old, start)) >= 0:
            end = found + len(old)
            parts = {"$": "$", "&": old, "`": text[:found], "'": text[end:]}
            out += [text[start:found], _REPLACEMENT.sub(lambda m: parts[m.group(1)], new)]  # noqa: B023
            start = end
            left -= 1
        return "".join(out) + text[start:]

    return helper


replace = _replace(1)
replace_all = _replace(-1)


def _pad(left: bool) -> Any:
    def helper(opts: Options, *args: Any) -> Any:
        if not args:
            return ""
        text = _text(args[0])
        length = to_length(args[1]) if len(args) > 1 else 0
        fill = _text(args[2]) if len(args) > 2 else " "
        if length <= len(text) or fill == "":
            return text
        check_string_length(length)
        needed = length - len(text)
        padding = (fill * (needed // len(fill) + 1))[:needed]
        return padding + text if left else text + padding

    return helper


def substr(opts: Options, text: Any = UNDEFINED, start: Any = UNDEFINED, length: Any = UNDEFINED, *rest: Any) -> Any:
    value = _text(text) if not is_nullish(text) else ""
    begin = parse_int(start) if not is_nullish(start) else 0
    begin = 0 if is_nan(begin) else int(begin)
    if begin < 0:
        begin = max(0, len(value) + begin)
    if is_nullish(length) or isinstance(length, dict):
        return value[begin:]
    count = parse_int(length)
    count = 0 if is_nan(count) else int(count)
    return value[begin:begin + max(0, count)]


def includes(opts: Options, data: Any = UNDEFINED, search: Any = UNDEFINED, *rest: Any) -> bool:
    return _string_or_empty(search) in _string_or_empty(data)


def index_of(opts: Options, data: Any = UNDEFINED, search: Any = UNDEFINED, position: Any = UNDEFINED, *rest: Any) -> int:
    if data is UNDEFINED:  # Mockoon calls data.toString() on anything not an object (null is one)
        raise TemplateError("Cannot read properties of undefined (reading 'toString')")
    text = _string_or_empty(data)
    needle = _string_or_empty(search)
    if not is_nullish(position) and not isinstance(position, (dict, list)):
        start = to_integer_or_infinity(position)
        return text.find(needle, int(min(max(start, 0), len(text))))
    return text.find(needle)


def newline(opts: Options, *args: Any) -> str:
    return "\n"


# Mockoon's base64 helpers answer SafeStrings (never HTML-escaped: ``=`` stays ``=``)
def base64_encode(opts: Options, *args: Any) -> str:
    value = opts.fn() if opts.is_block else (_text(args[0]) if args else "")
    return SafeString(base64.b64encode(value.encode()).decode())


def _node_base64_decode(text: str) -> str:
    """Node's ``Buffer.from(text, 'base64')``: both alphabets, other characters skipped, stops at
    padding, a dangling sixth of a byte dropped; invalid UTF-8 becomes U+FFFD."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text.split("=", 1)[0].translate(_URL_ALPHABET))
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):  # pragma: no cover - the input is cleaned above
        return ""


_URL_ALPHABET = str.maketrans("-_", "+/")


def base64_decode(opts: Options, *args: Any) -> str:
    value = opts.fn() if opts.is_block else (_text(args[0]) if args else "")
    return SafeString(_node_base64_decode(value))


def base64url_encode(opts: Options, *args: Any) -> str:
    value = opts.fn() if opts.is_block else (_text(args[0]) if args else "")
    return SafeString(base64.urlsafe_b64encode(value.encode()).decode().rstrip("="))


def base64url_decode(opts: Options, *args: Any) -> str:
    value = opts.fn() if opts.is_block else (_text(args[0]) if args else "")
    return SafeString(_node_base64_decode(value))


def _jwt_part(index: int) -> Any:
    def helper(opts: Options, token: Any = UNDEFINED, path: Any = UNDEFINED, *rest: Any) -> Any:
        text = _text(token) if isinstance(token, str) else ""
        text = re.sub(r"^bearer\s+", "", text, flags=re.I)
        parts = text.split(".")
        if len(parts) < 2:
            return ""
        try:
            decoded = json.loads(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
        except (ValueError, binascii.Error):
            return ""
        if isinstance(path, str) and path:
            found = paths.get_value_from_path(decoded, unsafe(path), UNDEFINED)
            return found
        return decoded

    return helper


def stringify(opts: Options, data: Any = UNDEFINED, *rest: Any) -> Any:
    if isinstance(data, (dict, list)):
        return json_stringify(data, 2)
    return data


def json_parse(opts: Options, text: Any = UNDEFINED, *rest: Any) -> Any:
    if not isinstance(text, str):  # Mockoon parses strings only: {{jsonParse 56}} is empty
        return UNDEFINED
    try:
        return js_json_parse(_text(text))
    except (ValueError, TypeError):
        return UNDEFINED


# --- arrays --------------------------------------------------------------------------------------


def array(opts: Options, *args: Any) -> list[Any]:
    return list(args)


def slice_(opts: Options, arr: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED, *rest: Any) -> Any:
    if not isinstance(arr, list):
        return ""
    begin = relative_index(start, len(arr), 0)
    if isinstance(end, (int, float)) and not isinstance(end, bool):  # Mockoon passes only a number as the end
        return arr[begin:max(begin, relative_index(end, len(arr), len(arr)))]
    return arr[begin:]


def length(opts: Options, value: Any = UNDEFINED, *rest: Any) -> int:
    # a SafeString (what body, queryParam, base64... give) is an object in JavaScript: 0
    return len(value) if value.__class__ is str or isinstance(value, list) else 0


def one_of(opts: Options, *args: Any) -> Any:
    if not args:
        return ""
    stringify_result = False
    if isinstance(args[0], list):
        items = args[0]
        if len(args) >= 2:
            stringify_result = args[1] is True
    else:
        items = list(args)
    if not items:
        return UNDEFINED
    result = opts.scope.random.choice(items)
    return SafeString(json_stringify(result)) if stringify_result else result


def some_of(opts: Options, items: Any = UNDEFINED, low: Any = UNDEFINED, high: Any = UNDEFINED, as_string: Any = False,
            *rest: Any) -> Any:
    if not isinstance(items, list):
        raise TemplateError("itemList.sort is not a function")
    rnd = opts.scope.random
    shuffled = list(items)
    rnd.shuffle(shuffled)
    # a bound not given is Handlebars' options object in Mockoon's helper: NaN, and nothing is chosen
    count = js_random_int(rnd, low, high) if low is not UNDEFINED and high is not UNDEFINED else math.nan
    chosen = shuffled[:relative_index(count, len(shuffled), len(shuffled))]
    return json_stringify(chosen) if as_string is True else chosen


def random_int(rnd: Any, low: Any, high: Any) -> float | int:
    """``repeat``'s count between two bounds (not numbers: 0); an infinity when a bound is one."""
    lo, hi = to_number(low), to_number(high)
    count = js_random_int(rnd, 0 if is_nan(lo) else lo, 0 if is_nan(hi) else hi)
    return 0 if is_nan(count) else count


def _js_compare(a: Any, b: Any) -> int:
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    x, y = to_number(a), to_number(b)
    if is_nan(x) or is_nan(y):
        return 0
    return (x > y) - (x < y)


def sort(opts: Options, *args: Any) -> Any:
    if not args or not isinstance(args[0], list):
        return ""
    arr = args[0]
    if not arr or isinstance(arr[0], (dict, list)):
        return arr
    order = _text(args[1]).lower() if len(args) >= 2 else "asc"
    if isinstance(arr[0], str):  # String.prototype.localeCompare, as Mockoon sorts strings
        result = sorted(arr, key=lambda item: collation_key(to_string(item)))
    else:
        result = sorted(arr, key=cmp_to_key(_js_compare))
    return result[::-1] if order == "desc" else result


def sort_by(opts: Options, *args: Any) -> Any:
    if not args or not isinstance(args[0], list):
        return ""
    arr = args[0]
    if not arr or not isinstance(arr[0], dict):
        return arr
    key = unsafe(args[1]) if len(args) >= 2 else ""
    if not key or not arr[0].get(key):
        return arr
    order = _text(args[2]).lower() if len(args) >= 3 else "asc"
    result = sorted(arr, key=cmp_to_key(lambda a, b: _js_compare(
        a.get(key) if isinstance(a, dict) else UNDEFINED, b.get(key) if isinstance(b, dict) else UNDEFINED)))
    return result[::-1] if order == "desc" else result


def _matches(payload: Any, condition: Any) -> bool:
    if isinstance(condition, dict):
        if isinstance(payload, (dict, list)) or payload is None:
            if not isinstance(payload, dict):
                return False
            return all(_matches(payload.get(k, UNDEFINED), unsafe(v)) for k, v in condition.items())
        return False
    return eq(None, payload, condition)  # type: ignore[arg-type]


def _and(item: Any, conditions: list[Any]) -> bool:
    return all(_or(item, c) if isinstance(c, list) else _matches(item, c) for c in conditions)


def _or(item: Any, conditions: list[Any]) -> bool:
    return any(_and(item, c) if isinstance(c, list) else _matches(item, c) for c in conditions)


def filter_(opts: Options, *args: Any) -> Any:
    if not args or not isinstance(args[0], list):
        return ""
    arr, conditions = args[0], list(args[1:])
    if not arr or not conditions:
        return arr
    return [item for item in arr if _or(item, conditions)]


def find(opts: Options, *args: Any) -> Any:
    if not args or not isinstance(args[0], list):
        return ""
    arr, conditions = args[0], list(args[1:])
    if not arr or not conditions:
        return UNDEFINED
    return next((item for item in arr if _or(item, conditions)), UNDEFINED)


def reverse(opts: Options, value: Any = UNDEFINED, *rest: Any) -> Any:
    return value[::-1] if isinstance(value, list) else ""  # Mockoon reverses arrays only


# --- objects ------------------------------------------------------------------------------------


def object_(opts: Options, *args: Any) -> dict[str, Any]:
    return dict(opts.hash)


def object_merge(opts: Options, *args: Any) -> Any:
    if not args:
        return ""
    result: dict[str, Any] = {}
    for arg in args:
        if isinstance(arg, dict):
            result.update(arg)
    return result


def _path_helper(find: Any) -> Any:
    """objectPath/jsonPath/jmesPath as Mockoon 9.9's ``getValueFromPath``: the value found,
    as it is (arrays and objects too), the third argument (or '') when nothing is found, and
    anything that is not an object or array (strings included) given back untouched."""

    def helper(opts: Options, *args: Any) -> Any:
        if len(args) < 2:
            return UNDEFINED
        data, path = unsafe(args[0]), unsafe(args[1])
        default = args[2] if len(args) > 2 and not is_nullish(args[2]) else ""
        if not isinstance(data, (dict, list)) and data is not None or not isinstance(path, str) or path == "":
            return data
        found = find(data, path) if data is not None else UNDEFINED
        return default if found is UNDEFINED or found is None and find is paths.jmes_path else found

    return helper


object_path = _path_helper(paths.object_path_get)
json_path = _path_helper(paths.json_path)
jmes_path = _path_helper(paths.jmes_path)


# --- flow: repeat, switch, variables ----------------------------------------------------------------


def repeat(opts: Options, *args: Any) -> str:
    scope = opts.scope
    if len(args) == 2:
        count: Any = random_int(scope.random, args[0], args[1])
    elif len(args) == 1:
        count = args[0]
    else:
        raise TemplateError("The repeat helper requires a numeric param")
    number = to_number(count)
    total = 0 if is_nan(number) or number == -math.inf else number if math.isinf(number) else math.ceil(number)
    scope.budget.check_repeat(total)
    base = opts.data
    context = opts.context
    comma = opts.hash.get("comma") is not False
    # Mockoon appends each piece to a string, trims its end, then adds a comma and a newline;
    # ``out`` holds the same text in pieces, so long repeats stay linear.
    out: list[str] = []
    in_place = opts.pure_body
    for i in range(int(total)):  # finite: check_repeat refused Infinity
        if in_place:
            piece = opts.fn_in_place()
        else:
            piece = opts.fn(context, {**base, "index": i, "total": count, "first": i == 0, "last": i == total - 1})
        if comma:
            stripped = piece.rstrip()
            if stripped:
                out.append(stripped)
            else:
                _trim_end(out)
            ends_with_comma = bool(out) and out[-1].endswith(",")
            if i < total - 1 and not ends_with_comma:
                out.append(",")
            elif i == total - 1 and ends_with_comma:
                out[-1] = out[-1][:-1]
            out.append("\n")
        else:
            out.append(piece)
        scope.budget.tick(out)
    return "".join(out)


def _trim_end(pieces: list[str]) -> None:
    """``trimEnd`` of the text the pieces join to, in place."""
    while pieces:
        last = pieces[-1].rstrip()
        if last:
            pieces[-1] = last
            return
        pieces.pop()


def switch(opts: Options, value: Any = UNDEFINED, *rest: Any) -> str:
    opts.data["found"] = False
    opts.data["switchValue"] = unsafe(value)
    return opts.fn({"name": opts.name, "hash": opts.hash, "data": opts.data})


def case(opts: Options, *args: Any) -> Any:
    value: Any = args[0] if args else ""
    if eq(opts, value, opts.data.get("switchValue", UNDEFINED)) and not opts.data.get("found"):
        opts.data["found"] = True
        return opts.fn({"name": opts.name, "hash": opts.hash, "data": opts.data})
    return UNDEFINED


def default(opts: Options, *args: Any) -> str:
    if not opts.data.get("found"):
        opts.data.pop("switchValue", None)
        return opts.fn({"name": opts.name, "hash": opts.hash, "data": opts.data})
    return ""


def set_var(opts: Options, *args: Any) -> Any:
    if len(args) < 2:
        return UNDEFINED
    opts.data[to_string(unsafe(args[0]))] = unsafe(args[1])
    return UNDEFINED


def get_var(opts: Options, *args: Any) -> Any:
    if not args:
        return UNDEFINED
    return opts.data.get(to_string(unsafe(args[0])), UNDEFINED)


def float_parse(opts: Options, value: Any = UNDEFINED, *rest: Any) -> Any:
    return parse_float(value)


_FUNCTIONS: dict[str, Helper] = {
    "add": add,
    "subtract": subtract,
    "multiply": multiply,
    "divide": divide,
    "modulo": modulo,
    "ceil": _math1(math.ceil),
    "floor": _math1(math.floor),
    "round": _math1(_js_round),
    "toFixed": to_fixed,
    "parseInt": parse_int_helper,
    "eq": eq,
    "gt": _compare(operator.gt),
    "gte": _compare(operator.ge),
    "lt": _compare(operator.lt),
    "lte": _compare(operator.le),
    "lowercase": lowercase,
    "uppercase": uppercase,
    "concat": concat,
    "split": split,
    "join": join,
    "replace": replace,
    "replaceAll": replace_all,
    "padStart": _pad(True),
    "padEnd": _pad(False),
    "substr": substr,
    "includes": includes,
    "indexOf": index_of,
    "newline": newline,
    "base64": base64_encode,
    "base64Decode": base64_decode,
    "base64url": base64url_encode,
    "base64urlDecode": base64url_decode,
    "jwtHeader": _jwt_part(0),
    "jwtPayload": _jwt_part(1),
    "stringify": stringify,
    "jsonParse": json_parse,
    "array": array,
    "slice": slice_,
    "len": length,
    "oneOf": one_of,
    "someOf": some_of,
    "sort": sort,
    "sortBy": sort_by,
    "filter": filter_,
    "find": find,
    "reverse": reverse,
    "object": object_,
    "objectMerge": object_merge,
    "objectPath": object_path,
    "jsonPath": json_path,
    "jmesPath": jmes_path,
    "repeat": repeat,
    "switch": switch,
    "case": case,
    "default": default,
    "setVar": set_var,
    "getVar": get_var,
}

HELPERS = helper_table(
    _FUNCTIONS,
    # never read ``options``: the compiler calls them without building one
    options_free=frozenset({"add", "subtract", "multiply", "divide", "modulo", "ceil", "floor", "round", "toFixed",
                            "parseInt", "eq", "gt", "gte", "lt", "lte", "lowercase", "uppercase", "padStart",
                            "padEnd", "substr", "includes", "indexOf", "stringify", "jsonParse", "len", "reverse",
                            "objectPath", "jsonPath", "jmesPath"}),
    # numeric comparisons generated code may write inline
    compare_ops={"gt": ">", "gte": ">=", "lt": "<", "lte": "<="},
)
