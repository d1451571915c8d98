"""``{{faker 'module.method' ...}}``: faker-js method paths mapped onto Python Faker.

Output formats follow faker-js (``string.uuid`` is a v4 UUID, ``number.int`` takes
``min``/``max``, dates print as JS ``Date`` strings). ``FAKER_METHODS`` is the table of
supported paths; an unknown path fails with Mockoon's message.
"""

from __future__ import annotations

import bisect
import itertools
import math
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from ...jsvalues import UNDEFINED, is_nan, to_number, unsafe
from ..compiler import Options
from ..errors import TemplateError
from .dates import js_date_string

Gen = Callable[["FakerContext", list[Any], dict[str, Any]], Any]


@cache
def _latin_lorem() -> type:
    """faker-js writes lorem text from its Latin word list in every locale; Python Faker's English
    locales use English words, so its lorem provider is given faker-js' list."""
    from faker.providers.lorem import Provider

    from .faker_more import data

    return type("LatinLorem", (Provider,), {"__provider__": "lorem", "word_list": tuple(data()["lorem"]["word"])})


class FakerContext:
    """The per-worker faker: one Python Faker instance with locale and seed, plus a Random."""

    def __init__(self, locale: str = "en", seed: int | None = None) -> None:
        from faker import Faker

        from .locales import python_locale

        py_locale = python_locale(locale)
        try:
            self.faker = Faker(py_locale)
        except AttributeError:
            self.faker = Faker("en_US")
        self.faker.add_provider(_latin_lorem())
        if seed is not None:
            self.faker.seed_instance(seed)
        self.random = self.faker.random
        self._weighted: dict[str, tuple[list[str], list[float] | None]] = {}

    def pick(self, attribute: str, fallback: str) -> str:
        """A provider list, sampled with precomputed cumulative weights.

        Python Faker recomputes the weights of its ~7,000 names on every call (≈100 µs);
        this keeps the same distribution at ≈1 µs."""
        entry = self._weighted.get(attribute)
        if entry is None:
            source = next((getattr(p, attribute) for p in self.faker.providers if hasattr(p, attribute)), None)
            if not source:
                return str(getattr(self.faker, fallback)())
            if isinstance(source, dict):
                entry = (list(source), list(itertools.accumulate(float(w) for w in source.values())))
            else:
                entry = (list(source), None)
            self._weighted[attribute] = entry
        keys, cumulative = entry
        if cumulative is None:
            return keys[self.random.randrange(len(keys))]
        return keys[min(bisect.bisect(cumulative, self.random.random() * cumulative[-1]), len(keys) - 1)]


def _opt(args: list[Any], hash_: dict[str, Any], name: str, index: int = 0, default: Any = UNDEFINED) -> Any:
    if name in hash_:
        return hash_[name]
    if args and isinstance(args[0], dict) and name in args[0]:
        return args[0][name]
    if len(args) > index and not isinstance(args[index], dict):
        return args[index]
    return default


def _num(value: Any, default: float) -> float:
    number = to_number(value) if value is not UNDEFINED else default
    return default if is_nan(number) else number


def _int(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> int:
    low: float
    high: float
    if args and not isinstance(args[0], dict) and "max" not in hash_:
        low, high = 0, _num(args[0], 0)
    else:
        low = _num(_opt(args, hash_, "min", 99), 0)
        high = _num(_opt(args, hash_, "max", 99), 2**53 - 1)
    low, high = math.ceil(low), math.floor(high)
    if high < low:
        raise TemplateError(f"Max {high} should be greater than min {low}.")
    value = ctx.random.randint(low, high)
    return value if -2**53 <= value <= 2**53 else int(float(value))  # JavaScript numbers past 2^53


def _float(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> float:
    if args and not isinstance(args[0], dict) and "max" not in hash_:
        low, high = 0.0, _num(args[0], 1.0)
    else:
        low = _num(_opt(args, hash_, "min", 99), 0.0)
        high = _num(_opt(args, hash_, "max", 99), 1.0)
    value = ctx.random.uniform(low, high)
    fraction = _opt(args, hash_, "fractionDigits", 99)
    precision = _opt(args, hash_, "multipleOf", 99, _opt(args, hash_, "precision", 99))
    if fraction is not UNDEFINED:
        return round(value, int(_num(fraction, 2)))
    if precision is not UNDEFINED:
        step = _num(precision, 0.01)
        return round(round(value / step) * step, max(0, -int(math.floor(math.log10(step)))))
    return value


def _chars(pool: str) -> Gen:
    def gen(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
        length = _opt(args, hash_, "length", 0, 1)
        if isinstance(length, dict):
            length = ctx.random.randint(int(length.get("min", 1)), int(length.get("max", 1)))
        count = int(_num(length, 1))
        return "".join(ctx.random.choice(pool) for _ in range(max(0, count)))

    return gen


def _date_between(ctx: FakerContext, start: datetime, end: datetime) -> str:
    low, high = sorted((start.timestamp(), end.timestamp()))
    return js_date_string(datetime.fromtimestamp(ctx.random.uniform(low, high), UTC).astimezone())


def _reference(args: list[Any], hash_: dict[str, Any]) -> datetime:
    """faker-js' ``refDate`` option; positional arguments are ignored, as faker-js 9 does."""
    from .dates import parse_js_date

    given = _opt(args, hash_, "refDate", 99)
    ref = parse_js_date(given) if given is not UNDEFINED else None
    return ref.astimezone(UTC) if ref is not None else datetime.now(UTC)


def _past(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    years = _num(_opt(args, hash_, "years", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref - timedelta(days=365 * years), ref)


def _future(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    years = _num(_opt(args, hash_, "years", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref, ref + timedelta(days=365 * years))


def _recent(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    days = _num(_opt(args, hash_, "days", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref - timedelta(days=days), ref)


def _soon(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    days = _num(_opt(args, hash_, "days", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref, ref + timedelta(days=days))


def _between(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    from .dates import parse_js_date

    start = parse_js_date(_opt(args, hash_, "from"))
    end = parse_js_date(_opt(args, hash_, "to", 1))
    if start is None or end is None:
        raise TemplateError("Invalid time value")
    return _date_between(ctx, start, end)


def _array_element(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> Any:
    items = args[0] if args and isinstance(args[0], list) else None
    if not items:
        raise TemplateError("Cannot get value from empty dataset.")
    return ctx.random.choice(items)


def _py(method: str, *py_args: Any, transform: Callable[[Any], Any] | None = None) -> Gen:
    def gen(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> Any:
        value = getattr(ctx.faker, method)(*py_args)
        return transform(value) if transform else value

    return gen


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    """A version-4 UUID (RFC 4122 variant) from the seeded generator."""
    text = "%032x" % ((ctx.random.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _words(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    count = int(_num(_opt(args, hash_, "count"), 3))
    return " ".join(ctx.faker.words(count))


def _sentences(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    count = int(_num(_opt(args, hash_, "sentenceCount"), 3))
    return " ".join(ctx.faker.sentences(count))


def _paragraphs(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    count = int(_num(_opt(args, hash_, "paragraphCount"), 3))
    return "\n".join(ctx.faker.paragraphs(count))


def _bool(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> bool:
    probability = _num(_opt(args, hash_, "probability"), 0.5)
    return ctx.random.random() < probability


def _object_id(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    return "".join(ctx.random.choice("0123456789abcdef") for _ in range(24))


def _hex_color(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    return "#" + "".join(ctx.random.choice("0123456789abcdef") for _ in range(6))


def _first_name(ctx: FakerContext, sex: Any = None) -> str:
    if sex == "male":
        return ctx.pick("first_names_male", "first_name_male")
    if sex == "female":
        return ctx.pick("first_names_female", "first_name_female")
    return ctx.pick("first_names", "first_name")


def _full_name(ctx: FakerContext, hash_: dict[str, Any]) -> str:
    first = hash_.get("firstName") or _first_name(ctx, hash_.get("sex"))
    last = hash_.get("lastName") or ctx.pick("last_names", "last_name")
    roll = ctx.random.random()
    if roll < 0.1:
        return f"{ctx.faker.prefix()} {first} {last}"
    if roll < 0.2:
        return f"{first} {last} {ctx.faker.suffix()}"
    return f"{first} {last}"


FAKER_METHODS: dict[str, Gen] = {
    "airline.airline": _py("company", transform=lambda v: {"name": v, "iataCode": v[:2].upper()}),
    "color.human": _py("color_name", transform=str.lower),
    "color.rgb": _hex_color,
    "commerce.department": _py("word", transform=str.capitalize),
    "commerce.price": lambda c, a, h: f"{_float(c, [], {'min': _num(_opt(a, h, 'min'), 1), 'max': _num(_opt(a, h, 'max', 1), 1000)}):.2f}",
    "commerce.product": _py("word", transform=str.capitalize),
    "commerce.productName": _py("catch_phrase"),
    "company.buzzPhrase": _py("bs"),
    "company.catchPhrase": _py("catch_phrase"),
    "company.name": _py("company"),
    "database.mongodbObjectId": _object_id,
    "datatype.boolean": _bool,
    "date.anytime": lambda c, a, h: _date_between(c, datetime(1970, 1, 1, tzinfo=UTC), datetime(2070, 1, 1, tzinfo=UTC)),
    "date.between": _between,
    "date.birthdate": lambda c, a, h: _date_between(c, datetime.now(UTC) - timedelta(days=365 * 80), datetime.now(UTC) - timedelta(days=365 * 18)),
    "date.future": _future,
    "date.month": lambda c, a, h: c.faker.month_name(),
    "date.past": _past,
    "date.recent": _recent,
    "date.soon": _soon,
    "date.weekday": lambda c, a, h: c.faker.day_of_week(),
    "finance.accountNumber": lambda c, a, h: "".join(c.random.choice(string.digits) for _ in range(int(_num(_opt(a, h, "length"), 8)))),
    "finance.amount": lambda c, a, h: f"{_float(c, [], {'min': _num(_opt(a, h, 'min'), 0), 'max': _num(_opt(a, h, 'max', 1), 1000)}):.{int(_num(_opt(a, h, 'dec', 2), 2))}f}",
    "finance.bic": _py("swift"),
    "finance.creditCardCVV": _py("credit_card_security_code"),
    "finance.creditCardNumber": _py("credit_card_number"),
    "finance.currencyCode": _py("currency_code"),
    "finance.currencyName": _py("currency_name"),
    "finance.currencySymbol": lambda c, a, h: c.faker.currency_symbol(c.faker.currency_code()),
    "finance.iban": _py("iban"),
    "git.commitSha": lambda c, a, h: "".join(c.random.choice("0123456789abcdef") for _ in range(int(_num(_opt(a, h, "length"), 40)))),
    "helpers.arrayElement": _array_element,
    "image.avatar": lambda c, a, h: f"https://avatars.githubusercontent.com/u/{c.random.randint(1, 99999999)}",
    "image.url": lambda c, a, h: f"https://picsum.photos/seed/{c.faker.pystr(5, 10)}/{int(_num(_opt(a, h, 'width'), 640))}/{int(_num(_opt(a, h, 'height'), 480))}",
    "internet.color": _hex_color,
    "internet.displayName": _py("user_name"),
    "internet.domainName": _py("domain_name"),
    "internet.domainSuffix": _py("tld"),
    "internet.domainWord": _py("domain_word"),
    "internet.email": _py("email"),
    "internet.emoji": lambda c, a, h: c.random.choice(["😀", "🎉", "🚀", "🔥", "👍", "🙂", "✨", "🐍"]),
    "internet.exampleEmail": _py("safe_email"),
    "internet.httpMethod": lambda c, a, h: c.random.choice(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    "internet.httpStatusCode": lambda c, a, h: c.random.choice([200, 201, 204, 301, 302, 400, 401, 403, 404, 500, 502, 503]),
    "internet.ip": _py("ipv4_public"),
    "internet.ipv4": _py("ipv4_public"),
    "internet.ipv6": _py("ipv6"),
    "internet.mac": _py("mac_address"),
    "internet.password": lambda c, a, h: c.faker.password(length=int(_num(_opt(a, h, "length"), 15)), special_chars=False),
    "internet.port": lambda c, a, h: c.random.randint(0, 65535),
    "internet.protocol": lambda c, a, h: c.random.choice(["http", "https"]),
    "internet.url": _py("url", transform=lambda v: v.rstrip("/")),
    "internet.userAgent": _py("user_agent"),
    "internet.userName": _py("user_name"),
    "internet.username": _py("user_name"),
    "location.buildingNumber": _py("building_number"),
    "location.city": _py("city"),
    "location.country": _py("country"),
    "location.countryCode": _py("country_code"),
    "location.county": lambda c, a, h: c.faker.city() + " County",
    "location.direction": lambda c, a, h: c.random.choice(["North", "East", "South", "West", "Northeast", "Northwest", "Southeast", "Southwest"]),
    "location.latitude": lambda c, a, h: round(c.random.uniform(_num(_opt(a, h, "min"), -90), _num(_opt(a, h, "max", 1), 90)), int(_num(_opt(a, h, "precision", 2), 4))),
    "location.longitude": lambda c, a, h: round(c.random.uniform(_num(_opt(a, h, "min"), -180), _num(_opt(a, h, "max", 1), 180)), int(_num(_opt(a, h, "precision", 2), 4))),
    "location.secondaryAddress": _py("secondary_address"),
    "location.state": lambda c, a, h: c.faker.state_abbr() if h.get("abbreviated") else c.faker.state(),
    "location.street": _py("street_name"),
    "location.streetAddress": _py("street_address"),
    "location.timeZone": _py("timezone"),
    "location.zipCode": _py("postcode"),
    "lorem.lines": lambda c, a, h: "\n".join(c.faker.sentences(int(_num(_opt(a, h, "lineCount"), 3)))),
    "lorem.paragraph": _py("paragraph"),
    "lorem.paragraphs": _paragraphs,
    "lorem.sentence": _py("sentence"),
    "lorem.sentences": _sentences,
    "lorem.slug": lambda c, a, h: "-".join(c.faker.words(int(_num(_opt(a, h, "wordCount"), 3)))),
    "lorem.text": _py("text"),
    "lorem.word": _py("word"),
    "lorem.words": _words,
    "number.bigInt": lambda c, a, h: c.random.randint(0, 10**15),
    "number.binary": lambda c, a, h: bin(_int(c, a, h) if a or h else c.random.randint(0, 1))[2:],
    "number.float": _float,
    "number.hex": lambda c, a, h: format(_int(c, a, h) if a or h else c.random.randint(0, 15), "x"),
    "number.int": _int,
    "number.octal": lambda c, a, h: format(_int(c, a, h) if a or h else c.random.randint(0, 7), "o"),
    "person.bio": _py("sentence"),
    "person.firstName": lambda c, a, h: _first_name(c, h.get("sex")),
    "person.fullName": lambda c, a, h: _full_name(c, h),
    "person.gender": lambda c, a, h: c.random.choice(["Male", "Female", "Non-binary", "Agender", "Genderfluid"]),
    "person.jobArea": _py("job", transform=lambda v: v.split()[0]),
    "person.jobDescriptor": _py("word", transform=str.capitalize),
    "person.jobTitle": _py("job"),
    "person.jobType": _py("word", transform=str.capitalize),
    "person.lastName": lambda c, a, h: c.pick("last_names", "last_name"),
    "person.middleName": lambda c, a, h: _first_name(c, h.get("sex")),
    "person.prefix": _py("prefix"),
    "person.sex": lambda c, a, h: c.random.choice(["female", "male"]),
    "person.suffix": _py("suffix"),
    "person.zodiacSign": lambda c, a, h: c.random.choice(["Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo", "Libra", "Scorpio", "Sagittarius", "Capricorn", "Aquarius", "Pisces"]),
    "phone.imei": lambda c, a, h: "-".join("".join(c.random.choice(string.digits) for _ in range(n)) for n in (2, 6, 6, 1)),
    "phone.number": _py("phone_number"),
    "string.alpha": _chars(string.ascii_letters),
    "string.alphanumeric": _chars(string.ascii_letters + string.digits),
    "string.binary": lambda c, a, h: "0b" + _chars("01")(c, a, h),
    "string.hexadecimal": lambda c, a, h: "0x" + _chars("0123456789abcdef")(c, a, h),
    "string.nanoid": lambda c, a, h: _chars(string.ascii_letters + string.digits + "_-")(c, a or [21], h),
    "string.numeric": _chars(string.digits),
    "string.octal": lambda c, a, h: "0o" + _chars("01234567")(c, a, h),
    "string.sample": lambda c, a, h: _chars("".join(chr(i) for i in range(33, 126)))(c, a or [10], h),
    "string.symbol": _chars("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "string.uuid": _uuid,
    "word.adjective": _py("word"),
    "word.adverb": _py("word"),
    "word.noun": _py("word"),
    "word.sample": _py("word"),
    "word.verb": _py("word"),
    "word.words": _words,
}



def _register_more() -> None:
    from .faker_more import more_methods

    for path, generator in more_methods().items():
        FAKER_METHODS.setdefault(path, generator)


_register_more()


def faker_helper(opts: Options, *args: Any) -> Any:
    name = unsafe(args[0]) if args else ""
    if not isinstance(name, str):
        raise TemplateError(f'Faker method name must be a string (valid: "location.zipCode", "date.past", etc) line {opts.line}')
    generator = FAKER_METHODS.get(name)
    if generator is None:
        what = "Faker method name is missing" if not name else f"{name} is not a valid Faker method"
        raise TemplateError(f'{what} (valid: "location.zipCode", "date.past", etc) line {opts.line}')
    extra = [unsafe(a) for a in args[1:]]
    return generator(opts.scope.faker, extra, dict(opts.hash))


def _bind_faker(literals: list[Any], line: int) -> Callable[[Any], Any] | None:
    """``{{faker 'person.firstName'}}`` with literal arguments: the method is found once,
    at compile time (unknown names keep failing at render time, as in Mockoon)."""
    name = unsafe(literals[0]) if literals else None
    generator = FAKER_METHODS.get(name) if isinstance(name, str) else None
    if generator is None:
        return None
    extra = [unsafe(a) for a in literals[1:]]
    return lambda scope: generator(scope.faker, list(extra), {})


faker_helper.bind_literals = _bind_faker  # type: ignore[attr-defined]


def _legacy(path: str) -> Callable[..., Any]:
    def helper(opts: Options, *args: Any) -> Any:
        return FAKER_METHODS[path](opts.scope.faker, [], {})

    return helper


def _legacy_int(opts: Options, *args: Any) -> Any:
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    hash_: dict[str, Any] = {}
    if numbers:
        hash_["min"] = numbers[0]
    if len(numbers) > 1:
        hash_["max"] = numbers[1]
    return _int(opts.scope.faker, [], hash_)


def _legacy_float(opts: Options, *args: Any) -> Any:
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    hash_: dict[str, Any] = {}
    if numbers:
        hash_["min"] = numbers[0]
    if len(numbers) > 1:
        hash_["max"] = numbers[1]
    return _float(opts.scope.faker, [], hash_)


HELPERS = {
    "faker": faker_helper,
    "int": _legacy_int,
    "float": _legacy_float,
    "boolean": _legacy("datatype.boolean"),
    "city": _legacy("location.city"),
    "color": _legacy("color.human"),
    "company": _legacy("company.name"),
    "country": _legacy("location.country"),
    "countryCode": _legacy("location.countryCode"),
    "domain": _legacy("internet.domainName"),
    "email": _legacy("internet.email"),
    "firstName": _legacy("person.firstName"),
    "lastName": _legacy("person.lastName"),
    "guid": _legacy("string.uuid"),
    "uuid": _legacy("string.uuid"),
    "hexColor": _legacy("internet.color"),
    "ipv4": _legacy("internet.ipv4"),
    "ipv6": _legacy("internet.ipv6"),
    "lat": _legacy("location.latitude"),
    "long": _legacy("location.longitude"),
    "objectId": _legacy("database.mongodbObjectId"),
    "phone": _legacy("phone.number"),
    "postcode": _legacy("location.zipCode"),
    "zipcode": _legacy("location.zipCode"),
    "street": _legacy("location.streetAddress"),
    "tld": _legacy("internet.domainSuffix"),
    "title": _legacy("person.prefix"),
    "lorem": lambda opts, *a: _legacy_lorem(opts.scope.faker, a[0] if a else None),
}


def _legacy_lorem(context: FakerContext, count: Any) -> str:
    """Mockoon's ``lorem``: ``faker.lorem.sentence(count)``, a count only when given as a number."""
    if isinstance(count, (int, float)) and not isinstance(count, bool) and count >= 1:
        words = int(count)
    else:
        words = context.random.randint(3, 10)  # faker-js' default word count
    return str(context.faker.sentence(nb_words=words, variable_nb_words=False))
