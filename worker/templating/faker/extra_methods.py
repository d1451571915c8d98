"""The rest of faker-js's method paths (the 9.x list Mockoon 9.9 ships), our own generators.

Word lists and patterns come from faker-js's English locale (MIT licence), extracted once into
``en_data.json``; the generators that combine them are written here. Objects (airports,
currencies …) are returned as dicts and arrays as lists, so they print as faker-js values do
through Handlebars (``[object Object]``, comma-joined arrays) and work with other helpers.
"""

from __future__ import annotations

import base64
import json
import re
import string
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...jsdates import js_date_string, parse_js_date
from ...jsvalues import UNDEFINED, to_string
from ..errors import TemplateError
from .arguments import Gen, data, opt

if TYPE_CHECKING:
    from .context import FakerContext

Args = list[Any]
Hash = dict[str, Any]


def _pick(ctx: FakerContext, items: list[Any]) -> Any:
    return items[ctx.random.randrange(len(items))]


def _list(module: str, key: str) -> Gen:
    def gen(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
        return _pick(ctx, data()[module][key])
    return gen


def _opt(args: Args, hash_: Hash, name: str, index: int = 0, default: Any = UNDEFINED) -> Any:
    return opt(args, hash_, name, index, default)


def _int_opt(args: Args, hash_: Hash, name: str, default: int, index: int = 0) -> int:
    value = _opt(args, hash_, name, index)
    try:
        return int(float(value)) if value is not UNDEFINED and value is not None else default
    except (TypeError, ValueError):
        return default


_SNAKE = re.compile(r"_([a-z])")
_PATTERN = re.compile(r"\{\{\s*([A-Za-z_.]+)(?:\((.*?)\))?\s*\}\}")


def expand(ctx: FakerContext, pattern: str, local: str = "") -> str:
    """faker-js's mustache patterns: ``{{food.meat}}``, ``{{string.numeric(4)}}``, or local ``{{noun}}``."""
    methods = ctx.methods

    def one(match: re.Match[str]) -> str:
        name, raw_args = match.group(1), match.group(2)
        if "." not in name:
            name = f"{local}.{name}"
        module, _, method = name.partition(".")
        path = f"{module}.{_SNAKE.sub(lambda m: m.group(1).upper(), method)}"
        generator = methods.get(path)
        if generator is None:
            raw = data().get(module, {}).get(method)
            if isinstance(raw, list):
                return to_string(_pick(ctx, raw))
            raise TemplateError(f"Invalid module method or definition: {name}")
        args: list[Any] = []
        if raw_args:
            try:
                parsed = json.loads(f"[{raw_args}]")
                args = parsed
            except ValueError:
                args = [raw_args]
        return to_string(generator(ctx, args, {}))

    return _PATTERN.sub(one, pattern)


# --- airline ------------------------------------------------------------------------------------
def _aircraft_type(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return _pick(ctx, ["regional", "narrowbody", "widebody"])


def _flight_number(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    length = _opt(args, hash_, "length")
    low, high = (1, 4)
    if isinstance(length, dict):
        low, high = int(length.get("min", 1)), int(length.get("max", 4))
    elif length is not UNDEFINED:
        low = high = int(float(length))
    size = ctx.random.randint(low, high)
    digits = str(ctx.random.randint(1, 9)) + "".join(str(ctx.random.randint(0, 9)) for _ in range(size - 1))
    return digits[:size]


def _record_locator(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    allow_numbers = bool(_opt(args, hash_, "allowNumerics", 99, False))
    pool = "ABCDEFGHJKMNPQRSTUVWXYZ" + ("23456789" if allow_numbers else "")
    return "".join(_pick(ctx, list(pool)) for _ in range(6))


def _seat(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    kind = _opt(args, hash_, "aircraftType", 99, "narrowbody")
    rows, letters = {"regional": (20, "ABCD"), "widebody": (60, "ABCDEFGHJK")}.get(str(kind), (35, "ABCDEF"))
    return f"{ctx.random.randint(1, rows)}{_pick(ctx, list(letters))}"


# --- color ---------------------------------------------------------------------------------------
def _unit_values(ctx: FakerContext, count: int, digits: int) -> list[float]:
    return [round(ctx.random.random(), digits) for _ in range(count)]


def _cmyk(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    return _color_format(args, hash_, "cmyk", _unit_values(ctx, 4, 2))


def _hue_based(name: str) -> Gen:
    def gen(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
        return _color_format(args, hash_, name, [ctx.random.randint(0, 360), *_unit_values(ctx, 2, 2)])
    return gen


def _lab(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    values = [round(ctx.random.random(), 6), round(ctx.random.uniform(-100, 100), 4), round(ctx.random.uniform(-100, 100), 4)]
    return _color_format(args, hash_, "lab", values)


def _lch(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    values = [round(ctx.random.random(), 6), round(ctx.random.uniform(0, 230), 1), round(ctx.random.uniform(0, 360), 1)]
    return _color_format(args, hash_, "lch", values)


def _color_format(args: Args, hash_: Hash, name: str, values: list[float]) -> Any:
    fmt = _opt(args, hash_, "format", 99, "decimal")
    if fmt == "css":
        if name in ("hsl", "hwb"):
            return f"{name}({values[0]}deg {values[1] * 100:g}% {values[2] * 100:g}%)"
        if name == "cmyk":
            return "cmyk(" + ", ".join(f"{v * 100:g}%" for v in values) + ")"
        return f"{name}({values[0] * 100:g}% {values[1]} {values[2]})"
    if fmt == "binary":
        import struct

        return " ".join(f"{int.from_bytes(struct.pack('>f', v), 'big'):032b}" for v in values)
    return values


def _by_css_space(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    space = _opt(args, hash_, "space", 99, "sRGB")
    values = _unit_values(ctx, 3, 4)
    if _opt(args, hash_, "format", 99, "decimal") == "css":
        return f"color({space} {values[0]} {values[1]} {values[2]})"
    return values


# --- commerce, company, finance ----------------------------------------------------------------------
def _isbn(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    variant = str(_opt(args, hash_, "variant", 99, "13"))
    separator = str(_opt(args, hash_, "separator", 99, "-"))
    group = str(_pick(ctx, ["0", "1"]))
    registrant = str(ctx.random.randint(100, 999999))
    publication_length = 8 - len(registrant)
    publication = str(ctx.random.randint(0, 10**publication_length - 1)).zfill(publication_length)
    if variant == "10":
        body = group + registrant + publication
        total = sum((10 - i) * int(c) for i, c in enumerate(body))
        check = (11 - total % 11) % 11
        return separator.join([group, registrant, publication, "X" if check == 10 else str(check)])
    body = "978" + group + registrant + publication
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return separator.join(["978", group, registrant, publication, str((10 - total % 10) % 10)])


def _currency(ctx: FakerContext, args: Args, hash_: Hash) -> dict[str, Any]:
    return dict(_pick(ctx, data()["finance"]["currency"]))


def _currency_numeric(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return str(_pick(ctx, data()["finance"]["currency"])["numericCode"])


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _bitcoin(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    kind = _opt(args, hash_, "type", 99, "legacy")
    if kind in ("segwit", "bech32", "taproot"):
        body = "".join(_pick(ctx, list("023456789acdefghjklmnpqrstuvwxyz")) for _ in range(39 if kind != "taproot" else 59))
        return ("bc1q" if kind != "taproot" else "bc1p") + body
    prefix = "1" if kind == "legacy" else "3"
    return prefix + "".join(_pick(ctx, list(_BASE58)) for _ in range(ctx.random.randint(25, 33)))


def _litecoin(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return _pick(ctx, ["L", "M", "3"]) + "".join(_pick(ctx, list(_BASE58)) for _ in range(ctx.random.randint(25, 32)))


def _ethereum(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return "0x" + "".join(_pick(ctx, list("0123456789abcdef")) for _ in range(40))


def _masked(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    length = _int_opt(args, hash_, "length", 4)
    digits = "".join(str(ctx.random.randint(0, 9)) for _ in range(length))
    parens = _opt(args, hash_, "parens", 99, True)
    ellipsis = _opt(args, hash_, "ellipsis", 99, True)
    text = ("..." if ellipsis else "") + digits
    return f"({text})" if parens else text


def _pin(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    length = _int_opt(args, hash_, "length", 4)
    if length < 1:
        raise TemplateError("minimum length is 1")
    return "".join(str(ctx.random.randint(0, 9)) for _ in range(length))


def _routing(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    digits = [ctx.random.randint(0, 9) for _ in range(8)]
    weights = [3, 7, 1, 3, 7, 1, 3, 7]
    check = (10 - sum(d * w for d, w in zip(digits, weights, strict=True)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _account_name(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return f"{_pick(ctx, data()['finance']['account_type'])} Account"


def _transaction_description(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return expand(ctx, _pick(ctx, data()["finance"]["transaction_description_pattern"]))


# --- date, git, hacker, food, book -------------------------------------------------------------------
def _betweens(ctx: FakerContext, args: Args, hash_: Hash) -> list[str]:
    start = parse_js_date(_opt(args, hash_, "from"))
    end = parse_js_date(_opt(args, hash_, "to", 1))
    if start is None or end is None:
        raise TemplateError("Invalid time value")
    count = _opt(args, hash_, "count", 2, 3)
    if isinstance(count, dict):
        count = ctx.random.randint(int(count.get("min", 1)), int(count.get("max", 3)))
    low, high = sorted((start.timestamp(), end.timestamp()))
    stamps = sorted(ctx.random.uniform(low, high) for _ in range(int(float(count))))
    return [js_date_string(datetime.fromtimestamp(s, UTC).astimezone()) for s in stamps]


def _git_branch(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    hacker = data()["hacker"]
    return f"{_pick(ctx, hacker['noun'])}-{_pick(ctx, hacker['verb'])}".replace(" ", "-").lower()


def _git_message(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    hacker = data()["hacker"]
    return f"{_pick(ctx, hacker['verb'])} {_pick(ctx, hacker['adjective'])} {_pick(ctx, hacker['noun'])}"


def _git_date(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    moment = datetime.now(UTC) - timedelta(seconds=ctx.random.uniform(0, 86400))
    offset = ctx.random.randint(-11, 12)
    local = moment + timedelta(hours=offset)
    return local.strftime("%a %b %d %H:%M:%S %Y ") + f"{'+' if offset >= 0 else '-'}{abs(offset):02d}00"


def _git_entry(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    first, last = ctx.faker.first_name(), ctx.faker.last_name()
    sha = "".join(_pick(ctx, list("0123456789abcdef")) for _ in range(40))
    lines = [f"commit {sha}"]
    if _opt(args, hash_, "merge", 99, False) is True:
        lines.append(f"Merge: {sha[:7]} {''.join(_pick(ctx, list('0123456789abcdef')) for _ in range(7))}")
    eol = "\r\n" if _opt(args, hash_, "eol", 99, "CRLF") == "CRLF" else "\n"
    lines += [f"Author: {first} {last} <{first}.{last}@{ctx.faker.free_email_domain()}>", f"Date: {_git_date(ctx, [], {})}",
              "", f"    {_git_message(ctx, [], {})}", ""]
    return eol.join(lines)


def _pattern(module: str, key: str, local: str = "") -> Gen:
    def gen(ctx: FakerContext, args: Args, hash_: Hash) -> str:
        return expand(ctx, _pick(ctx, data()[module][key]), local)
    return gen


# --- helpers.* ----------------------------------------------------------------------------------------
def _array_elements(ctx: FakerContext, args: Args, hash_: Hash) -> list[Any]:
    items = args[0] if args and isinstance(args[0], list) else []
    count = _opt(args, hash_, "count", 1, UNDEFINED)
    if isinstance(count, dict):
        count = ctx.random.randint(int(count.get("min", 1)), int(count.get("max", len(items))))
    size = ctx.random.randint(1, len(items)) if count is UNDEFINED and items else int(float(count or 0))
    return ctx.random.sample(items, min(size, len(items)))


def _shuffle(ctx: FakerContext, args: Args, hash_: Hash) -> list[Any]:
    items = list(args[0]) if args and isinstance(args[0], list) else []
    ctx.random.shuffle(items)
    return items


def _unique_array(ctx: FakerContext, args: Args, hash_: Hash) -> list[Any]:
    items = list(dict.fromkeys(args[0])) if args and isinstance(args[0], list) else []
    length = _int_opt(args, hash_, "length", len(items), 1)
    return ctx.random.sample(items, min(length, len(items)))


def _weighted(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    items = args[0] if args and isinstance(args[0], list) else []
    pairs = [(i.get("weight", 0), i.get("value")) for i in items if isinstance(i, dict)]
    total = sum(w for w, _ in pairs)
    if not pairs or total <= 0:
        raise TemplateError("weightedArrayElement expects an array of {weight, value} with positive weights")
    roll = ctx.random.uniform(0, total)
    for weight, value in pairs:
        roll -= weight
        if roll <= 0:
            return value
    return pairs[-1][1]


def _object_part(part: str) -> Gen:
    def gen(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
        obj = args[0] if args and isinstance(args[0], dict) else {}
        if not obj:
            raise TemplateError("Cannot get value from empty dataset.")
        key = _pick(ctx, list(obj))
        return {"key": key, "value": obj[key], "entry": [key, obj[key]]}[part]
    return gen


def _maybe(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    probability = float(_opt(args, hash_, "probability", 1, 0.5))
    return args[0] if args and ctx.random.random() < probability else UNDEFINED


def _multiple(ctx: FakerContext, args: Args, hash_: Hash) -> list[Any]:
    method = args[0] if args else ""
    generator = ctx.methods.get(str(method))
    if generator is None:
        raise TemplateError(f"{method} is not a valid Faker method")
    count = _int_opt(args, hash_, "count", 3, 1)
    return [generator(ctx, [], {}) for _ in range(min(count, 10_000))]


def _fake(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    pattern = args[0] if args else ""
    if not isinstance(pattern, str) or not pattern:
        raise TemplateError("Pattern string cannot be empty.")
    return expand(ctx, pattern)


def _mustache(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    text = str(args[0]) if args else ""
    values = args[1] if len(args) > 1 and isinstance(args[1], dict) else hash_
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", to_string(value))
    return text


def _range_to_number(ctx: FakerContext, args: Args, hash_: Hash) -> int:
    value = args[0] if args else hash_
    if isinstance(value, dict):
        return ctx.random.randint(int(value.get("min", 0)), int(value.get("max", 0)))
    return int(float(value))


def _replace_symbols(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    text = str(args[0]) if args else ""
    out = []
    for char in text:
        if char == "#":
            out.append(str(ctx.random.randint(0, 9)))
        elif char == "?":
            out.append(_pick(ctx, list(string.ascii_uppercase)))
        elif char == "*":
            out.append(_pick(ctx, list(string.ascii_uppercase + string.digits)))
        else:
            out.append(char)
    return "".join(out)


def _replace_cc(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    text = str(args[0]) if args else "6453-####-####-####-###L"
    text = re.sub(r"\[(\d)-(\d)\]", lambda m: str(ctx.random.randint(int(m.group(1)), int(m.group(2)))), text)
    text = _replace_symbols(ctx, [text], {})
    digits = [int(c) for c in text if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return text.replace("L", str((10 - total % 10) % 10))


def _slugify(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    text = str(args[0]) if args else ""
    return re.sub(r"[^\w.-]+", "", text.replace(" ", "-"))


def _enum_value(ctx: FakerContext, args: Args, hash_: Hash) -> Any:
    obj = args[0] if args and isinstance(args[0], dict) else {}
    values = [v for k, v in obj.items() if not k.isdigit()]
    if not values:
        raise TemplateError("Cannot get value from empty dataset.")
    return _pick(ctx, values)


def _from_regexp(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    """The subset faker-js supports: literals, classes [a-z0-9], \\d \\w \\s, and {n} / {n,m} counts."""
    pattern = str(args[0]) if args else ""
    pattern = pattern.strip("/") if pattern.startswith("/") else pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        pool: list[str]
        if char == "[":
            end = pattern.index("]", i)
            body, i = pattern[i + 1:end], end + 1
            negate = body.startswith("^")
            body = body[1:] if negate else body
            chars: list[str] = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    chars += [chr(c) for c in range(ord(body[j]), ord(body[j + 2]) + 1)]
                    j += 3
                else:
                    chars.append(body[j])
                    j += 1
            pool = [c for c in string.printable[:94] if c not in chars] if negate else chars
        elif char == "\\" and i + 1 < len(pattern):
            code, i = pattern[i + 1], i + 2
            pool = {"d": list(string.digits), "w": list(string.ascii_letters + string.digits + "_"),
                    "s": [" "]}.get(code, [code])
        else:
            pool, i = [char], i + 1
        low = high = 1
        if i < len(pattern) and pattern[i] == "{":
            end = pattern.index("}", i)
            low_text, _, high_text = pattern[i + 1:end].partition(",")
            low = int(low_text)
            high = int(high_text) if high_text else low
            i = end + 1
        for _ in range(ctx.random.randint(low, min(high, 10_000))):
            out.append(_pick(ctx, pool))
    return "".join(out)


# --- image, internet ------------------------------------------------------------------------------------
def _dims(ctx: FakerContext, args: Args, hash_: Hash) -> tuple[int, int]:
    return (_int_opt(args, hash_, "width", ctx.random.randint(1, 3999), 99),
            _int_opt(args, hash_, "height", ctx.random.randint(1, 3999), 99))


def _data_uri(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    width, height = _dims(ctx, args, hash_)
    colour = "#" + "".join(_pick(ctx, list("0123456789abcdef")) for _ in range(6))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" baseProfile="full" width="{width}" height="{height}">'
           f'<rect width="100%" height="100%" fill="{colour}"/><text x="{width / 2}" y="{height / 2}" font-size="20" '
           f'alignment-baseline="middle" text-anchor="middle" fill="white">{width}x{height}</text></svg>')
    if _opt(args, hash_, "type", 99, "svg-uri") == "svg-base64":
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    from urllib.parse import quote

    return "data:image/svg+xml;charset=UTF-8," + quote(svg)


def _portrait(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    sex = _opt(args, hash_, "sex", 99, _pick(ctx, ["female", "male"]))
    size = _int_opt(args, hash_, "size", 512, 99)
    return f"https://cdn.jsdelivr.net/gh/faker-js/assets-person-portrait/{sex}/{size}/{ctx.random.randint(0, 99)}.jpg"


def _picsum(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    width, height = _dims(ctx, args, hash_)
    seed = "".join(_pick(ctx, list(string.ascii_letters + string.digits)) for _ in range(10))
    return f"https://picsum.photos/seed/{seed}/{width}/{height}"


def _flickr(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    width, height = _dims(ctx, args, hash_)
    return f"https://loremflickr.com/{width}/{height}?lock={ctx.random.randint(0, 2**52)}"


def _placeholder(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    width, height = _dims(ctx, args, hash_)
    back = "".join(_pick(ctx, list("0123456789abcdef")) for _ in range(6))
    fore = "".join(_pick(ctx, list("0123456789abcdef")) for _ in range(6))
    return f"https://via.placeholder.com/{width}x{height}/{back}/{fore}.png"


def _b64url(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwt(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    now = int(time.time())
    header = {"alg": _pick(ctx, data()["internet"]["jwt_algorithm"]), "typ": "JWT"}
    payload = {"iat": now - ctx.random.randint(0, 86400), "exp": now + ctx.random.randint(0, 86400),
               "nbf": now - ctx.random.randint(0, 86400), "iss": ctx.faker.company(),
               "sub": str(uuid.UUID(int=ctx.random.getrandbits(128), version=4)),
               "aud": str(uuid.UUID(int=ctx.random.getrandbits(128), version=4)),
               "jti": str(uuid.UUID(int=ctx.random.getrandbits(128), version=4))}
    given_header = _opt(args, hash_, "header", 99)
    given_payload = _opt(args, hash_, "payload", 99)
    header = given_header if isinstance(given_header, dict) else header
    payload = given_payload if isinstance(given_payload, dict) else payload
    signature = "".join(_pick(ctx, list(string.ascii_letters + string.digits + "-_")) for _ in range(64))
    return f"{_b64url(header)}.{_b64url(payload)}.{signature}"


# --- location, number, person, string, system, vehicle -----------------------------------------------
def _direction(kind: str) -> Gen:
    def gen(ctx: FakerContext, args: Args, hash_: Hash) -> str:
        abbreviated = _opt(args, hash_, "abbreviated", 99, False) is True
        return _pick(ctx, data()["location"]["direction"][kind + ("_abbr" if abbreviated else "")])
    return gen


def _nearby(ctx: FakerContext, args: Args, hash_: Hash) -> list[float]:
    import math

    origin = _opt(args, hash_, "origin", 99)
    radius = float(_opt(args, hash_, "radius", 99, 10))
    if not isinstance(origin, list) or len(origin) != 2:
        return [round(ctx.random.uniform(-90, 90), 4), round(ctx.random.uniform(-180, 180), 4)]
    angle = ctx.random.uniform(0, 2 * math.pi)
    distance = ctx.random.uniform(0, radius) / 111.0
    return [round(float(origin[0]) + distance * math.sin(angle), 4), round(float(origin[1]) + distance * math.cos(angle), 4)]


_ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def _roman(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    low = _int_opt(args, hash_, "min", 1, 99)
    high = _int_opt(args, hash_, "max", 3999, 99)
    if low < 1 or high > 3999 or high < low:
        raise TemplateError(f"Max {high} should be greater than min {low} (range 1-3999).")
    number = ctx.random.randint(low, high)
    out = []
    for value, letters in _ROMAN:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def _from_characters(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    characters = args[0] if args else ""
    pool = list(characters) if isinstance(characters, (str, list)) else []
    if not pool:
        raise TemplateError("Unable to generate string: No characters to select from.")
    length = _opt(args, hash_, "length", 1, 1)
    if isinstance(length, dict):
        length = ctx.random.randint(int(length.get("min", 1)), int(length.get("max", 1)))
    return "".join(str(_pick(ctx, pool)) for _ in range(int(float(length))))


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    stamp = int(time.time() * 1000)
    encoded = "".join(_CROCKFORD[(stamp >> (5 * (9 - i))) & 31] for i in range(10))
    return encoded + "".join(_pick(ctx, list(_CROCKFORD)) for _ in range(16))


def _mime_types() -> list[str]:
    return list(data()["system"]["mime_type"])


def _file_ext(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    mime = _opt(args, hash_, "mimeType", 0)
    table = data()["system"]["mime_type"]
    exts = table.get(mime) if isinstance(mime, str) else None
    if not exts:
        exts = [e for v in table.values() for e in v]
    return str(_pick(ctx, exts))


_COMMON = {"pdf": "application/pdf", "mpeg": "audio/mpeg", "wav": "audio/wav", "png": "image/png",
           "jpeg": "image/jpeg", "gif": "image/gif", "mp4": "video/mp4", "mp2": "video/mpeg", "html": "text/html"}


def _common_ext(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return _pick(ctx, list(_COMMON))


def _file_name(ext_gen: Gen) -> Gen:
    def gen(inner: FakerContext, args: Args, hash_: Hash) -> str:
        words = "_".join(w.lower() for w in inner.faker.words(inner.random.randint(1, 3)))
        ext = args[0] if args and isinstance(args[0], str) else ext_gen(inner, [], {})
        return f"{words}.{ext}"
    return gen


def _file_path(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    directory = _pick(ctx, data()["system"]["directory_path"])
    return f"{directory}/{_file_name(_file_ext)(ctx, [], {})}"


def _cron(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    minute = _pick(ctx, [str(ctx.random.randint(0, 59)), "*"])
    hour = _pick(ctx, [str(ctx.random.randint(0, 23)), "*"])
    day = _pick(ctx, [str(ctx.random.randint(1, 31)), "*", "?"])
    month = _pick(ctx, [str(ctx.random.randint(1, 12)), "*"])
    weekday = _pick(ctx, [str(ctx.random.randint(0, 6)), "*", "?"])
    fields = [minute, hour, day, month, weekday]
    if _opt(args, hash_, "includeYear", 99, False) is True:
        fields.append(str(ctx.random.randint(1970, 2099)))
    return " ".join(fields)


def _network_interface(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    kind = _opt(args, hash_, "interfaceType", 99, _pick(ctx, ["en", "wl", "ww"]))
    schema = _opt(args, hash_, "interfaceSchema", 99, _pick(ctx, ["index", "slot", "mac", "pci"]))
    hexdigit = lambda n: "".join(_pick(ctx, list("0123456789abcdef")) for _ in range(n))  # noqa: E731
    suffix = {"index": f"o{ctx.random.randint(1, 9)}", "slot": f"s{ctx.random.randint(1, 9)}",
              "mac": f"x{hexdigit(12)}", "pci": f"p{ctx.random.randint(1, 9)}s{ctx.random.randint(1, 9)}"}[str(schema)]
    return f"{kind}{suffix}"


def _semver(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return f"{ctx.random.randint(0, 9)}.{ctx.random.randint(0, 20)}.{ctx.random.randint(0, 20)}"


def _vin(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    pool = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    head = "".join(_pick(ctx, list(pool)) for _ in range(10))
    tail_letters = "".join(_pick(ctx, list("ABCDEFGHJKLMNPRSTUVWXYZ")) for _ in range(2))
    return (head + tail_letters + "".join(str(ctx.random.randint(0, 9)) for _ in range(5))).upper()


def _vrm(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    letters = lambda n: "".join(_pick(ctx, list(string.ascii_uppercase)) for _ in range(n))  # noqa: E731
    return f"{letters(2)}{ctx.random.randint(0, 9)}{ctx.random.randint(0, 9)}{letters(3)}"


def _vehicle(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    vehicle = data()["vehicle"]
    return f"{_pick(ctx, vehicle['manufacturer'])} {_pick(ctx, vehicle['model'])}"


def _time_zone(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return _pick(ctx, data()["date"]["time_zone"])


def _sex_type(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return _pick(ctx, ["female", "male"])


def _github_avatar(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return f"https://avatars.githubusercontent.com/u/{ctx.random.randint(0, 100_000_000)}"


def _legacy_avatar(ctx: FakerContext, args: Args, hash_: Hash) -> str:
    return ("https://cloudflare-ipfs.com/ipfs/Qmd3W5DuhgHirLHGVixi6V76LhCkZUz6pnFt5AJBiyvHye/avatar/"
            f"{ctx.random.randint(0, 1249)}.jpg")


def more_methods() -> dict[str, Gen]:
    methods: dict[str, Gen] = {
        "airline.aircraftType": _aircraft_type, "airline.airplane": _list("airline", "airplane"),
        "airline.airport": _list("airline", "airport"), "airline.flightNumber": _flight_number,
        "airline.recordLocator": _record_locator, "airline.seat": _seat,
        "color.cmyk": _cmyk, "color.hsl": _hue_based("hsl"), "color.hwb": _hue_based("hwb"), "color.lab": _lab,
        "color.lch": _lch, "color.colorByCSSColorSpace": _by_css_space,
        "color.cssSupportedFunction": lambda c, a, h: _pick(c, ["rgb", "rgba", "hsl", "hsla", "hwb", "cmyk", "lab", "lch", "color"]),
        "color.cssSupportedSpace": lambda c, a, h: _pick(c, ["sRGB", "display-p3", "rec2020", "a98-rgb", "prophoto-rgb"]),
        "color.space": _list("color", "space"),
        "commerce.isbn": _isbn, "commerce.productAdjective": _list("commerce", "product_adjective"),
        "commerce.productDescription": _list("commerce", "product_description"),
        "commerce.productMaterial": _list("commerce", "product_material"),
        "company.buzzAdjective": _list("company", "buzz_adjective"), "company.buzzNoun": _list("company", "buzz_noun"),
        "company.buzzVerb": _list("company", "buzz_verb"),
        "company.catchPhraseAdjective": _list("company", "adjective"),
        "company.catchPhraseDescriptor": _list("company", "descriptor"),
        "company.catchPhraseNoun": _list("company", "noun"),
        "date.betweens": _betweens, "date.timeZone": _time_zone,
        "finance.accountName": _account_name, "finance.bitcoinAddress": _bitcoin,
        "finance.creditCardIssuer": _list("finance", "credit_card"), "finance.currency": _currency,
        "finance.currencyNumericCode": _currency_numeric, "finance.ethereumAddress": _ethereum,
        "finance.litecoinAddress": _litecoin, "finance.maskedNumber": _masked, "finance.pin": _pin,
        "finance.routingNumber": _routing, "finance.transactionDescription": _transaction_description,
        "finance.transactionType": _list("finance", "transaction_type"),
        "food.description": _pattern("food", "description_pattern", "food"), "food.dish": _pattern("food", "dish_pattern", "food"),
        "git.branch": _git_branch, "git.commitDate": _git_date, "git.commitEntry": _git_entry,
        "git.commitMessage": _git_message, "hacker.phrase": _pattern("hacker", "phrase", "hacker"),
        "helpers.arrayElements": _array_elements, "helpers.enumValue": _enum_value, "helpers.fake": _fake,
        "helpers.fromRegExp": _from_regexp, "helpers.maybe": _maybe, "helpers.multiple": _multiple,
        "helpers.mustache": _mustache, "helpers.objectEntry": _object_part("entry"),
        "helpers.objectKey": _object_part("key"), "helpers.objectValue": _object_part("value"),
        "helpers.rangeToNumber": _range_to_number, "helpers.replaceCreditCardSymbols": _replace_cc,
        "helpers.replaceSymbols": _replace_symbols, "helpers.shuffle": _shuffle, "helpers.slugify": _slugify,
        "helpers.uniqueArray": _unique_array, "helpers.weightedArrayElement": _weighted,
        "image.avatarGitHub": _github_avatar, "image.avatarLegacy": _legacy_avatar, "image.dataUri": _data_uri,
        "image.personPortrait": _portrait, "image.urlLoremFlickr": _flickr, "image.urlPicsumPhotos": _picsum,
        "image.urlPlaceholder": _placeholder, "internet.jwt": _jwt,
        "internet.jwtAlgorithm": _list("internet", "jwt_algorithm"),
        "location.cardinalDirection": _direction("cardinal"), "location.ordinalDirection": _direction("ordinal"),
        "location.continent": _list("location", "continent"), "location.language": _list("location", "language"),
        "location.nearbyGPSCoordinate": _nearby, "number.romanNumeral": _roman, "person.sexType": _sex_type,
        "string.fromCharacters": _from_characters, "string.ulid": _ulid,
        "system.commonFileExt": _common_ext, "system.commonFileName": _file_name(_common_ext),
        "system.commonFileType": lambda c, a, h: _pick(c, ["video", "audio", "image", "text", "application"]),
        "system.cron": _cron, "system.directoryPath": _list("system", "directory_path"), "system.fileExt": _file_ext,
        "system.fileName": _file_name(_file_ext), "system.filePath": _file_path,
        "system.fileType": lambda c, a, h: _pick(c, sorted({m.split("/")[0] for m in _mime_types()})),
        "system.mimeType": lambda c, a, h: _pick(c, _mime_types()), "system.networkInterface": _network_interface,
        "system.semver": _semver, "vehicle.bicycle": _list("vehicle", "bicycle_type"),
        "vehicle.color": lambda c, a, h: c.faker.color_name().lower(), "vehicle.vehicle": _vehicle,
        "vehicle.vin": _vin, "vehicle.vrm": _vrm,
        "word.conjunction": _list("word", "conjunction"), "word.interjection": _list("word", "interjection"),
        "word.preposition": _list("word", "preposition"),
    }
    for module in ("animal", "book", "database", "food", "hacker", "music", "science", "vehicle"):
        for key in data()[module]:
            if key.endswith("_pattern"):
                continue
            name = _SNAKE.sub(lambda m: m.group(1).upper(), key)
            name = {"bicycleType": "bicycle", "chemicalElement": "chemicalElement"}.get(name, name)
            methods.setdefault(f"{module}.{name}", _list(module, key))
    return methods
