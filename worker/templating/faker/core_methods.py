"""faker-js method paths mapped onto Python Faker: the core table.

Output formats follow faker-js (``string.uuid`` is a v4 UUID, ``number.int`` takes
``min``/``max``, dates print as JS ``Date`` strings). ``registry.FAKER_METHODS`` adds the
paths of ``extra_methods`` to these.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...jsdates import js_date_string, parse_js_date
from ...jsvalues import UNDEFINED
from ..errors import TemplateError
from .arguments import Gen, num, opt

if TYPE_CHECKING:
    from .context import FakerContext



def _int(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> int:
    low: float
    high: float
    if args and not isinstance(args[0], dict) and "max" not in hash_:
        low, high = 0, num(args[0], 0)
    else:
        low = num(opt(args, hash_, "min", 99), 0)
        high = num(opt(args, hash_, "max", 99), 2**53 - 1)
    low, high = math.ceil(low), math.floor(high)
    if high < low:
        raise TemplateError(f"Max {high} should be greater than min {low}.")
    value = ctx.random.randint(low, high)
    return value if -2**53 <= value <= 2**53 else int(float(value))  # JavaScript numbers past 2^53


def _float(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> float:
    if args and not isinstance(args[0], dict) and "max" not in hash_:
        low, high = 0.0, num(args[0], 1.0)
    else:
        low = num(opt(args, hash_, "min", 99), 0.0)
        high = num(opt(args, hash_, "max", 99), 1.0)
    value = ctx.random.uniform(low, high)
    fraction = opt(args, hash_, "fractionDigits", 99)
    precision = opt(args, hash_, "multipleOf", 99, opt(args, hash_, "precision", 99))
    if fraction is not UNDEFINED:
        return round(value, int(num(fraction, 2)))
    if precision is not UNDEFINED:
        step = num(precision, 0.01)
        return round(round(value / step) * step, max(0, -int(math.floor(math.log10(step)))))
    return value


def _chars(pool: str) -> Gen:
    def gen(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
        length = opt(args, hash_, "length", 0, 1)
        if isinstance(length, dict):
            length = ctx.random.randint(int(length.get("min", 1)), int(length.get("max", 1)))
        count = int(num(length, 1))
        return "".join(ctx.random.choice(pool) for _ in range(max(0, count)))

    return gen


def _date_between(ctx: FakerContext, start: datetime, end: datetime) -> str:
    low, high = sorted((start.timestamp(), end.timestamp()))
    return js_date_string(datetime.fromtimestamp(ctx.random.uniform(low, high), UTC).astimezone())


def _reference(args: list[Any], hash_: dict[str, Any]) -> datetime:
    """faker-js' ``refDate`` option; positional arguments are ignored, as faker-js 9 does."""
    given = opt(args, hash_, "refDate", 99)
    ref = parse_js_date(given) if given is not UNDEFINED else None
    return ref.astimezone(UTC) if ref is not None else datetime.now(UTC)


def _past(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    years = num(opt(args, hash_, "years", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref - timedelta(days=365 * years), ref)


def _future(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    years = num(opt(args, hash_, "years", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref, ref + timedelta(days=365 * years))


def _recent(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    days = num(opt(args, hash_, "days", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref - timedelta(days=days), ref)


def _soon(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    days = num(opt(args, hash_, "days", 99), 1)  # faker-js 9 takes an options object only
    ref = _reference(args, hash_)
    return _date_between(ctx, ref, ref + timedelta(days=days))


def _between(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    start = parse_js_date(opt(args, hash_, "from"))
    end = parse_js_date(opt(args, hash_, "to", 1))
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
    count = int(num(opt(args, hash_, "count"), 3))
    return " ".join(ctx.faker.words(count))


def _sentences(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    count = int(num(opt(args, hash_, "sentenceCount"), 3))
    return " ".join(ctx.faker.sentences(count))


def _paragraphs(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> str:
    count = int(num(opt(args, hash_, "paragraphCount"), 3))
    return "\n".join(ctx.faker.paragraphs(count))


def _bool(ctx: FakerContext, args: list[Any], hash_: dict[str, Any]) -> bool:
    probability = num(opt(args, hash_, "probability"), 0.5)
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


METHODS: dict[str, Gen] = {
    "airline.airline": _py("company", transform=lambda v: {"name": v, "iataCode": v[:2].upper()}),
    "color.human": _py("color_name", transform=str.lower),
    "color.rgb": _hex_color,
    "commerce.department": _py("word", transform=str.capitalize),
    "commerce.price": lambda c, a, h: f"{_float(c, [], {'min': num(opt(a, h, 'min'), 1), 'max': num(opt(a, h, 'max', 1), 1000)}):.2f}",
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
    "finance.accountNumber": lambda c, a, h: "".join(c.random.choice(string.digits) for _ in range(int(num(opt(a, h, "length"), 8)))),
    "finance.amount": lambda c, a, h: f"{_float(c, [], {'min': num(opt(a, h, 'min'), 0), 'max': num(opt(a, h, 'max', 1), 1000)}):.{int(num(opt(a, h, 'dec', 2), 2))}f}",
    "finance.bic": _py("swift"),
    "finance.creditCardCVV": _py("credit_card_security_code"),
    "finance.creditCardNumber": _py("credit_card_number"),
    "finance.currencyCode": _py("currency_code"),
    "finance.currencyName": _py("currency_name"),
    "finance.currencySymbol": lambda c, a, h: c.faker.currency_symbol(c.faker.currency_code()),
    "finance.iban": _py("iban"),
    "git.commitSha": lambda c, a, h: "".join(c.random.choice("0123456789abcdef") for _ in range(int(num(opt(a, h, "length"), 40)))),
    "helpers.arrayElement": _array_element,
    "image.avatar": lambda c, a, h: f"https://avatars.githubusercontent.com/u/{c.random.randint(1, 99999999)}",
    "image.url": lambda c, a, h: f"https://picsum.photos/seed/{c.faker.pystr(5, 10)}/{int(num(opt(a, h, 'width'), 640))}/{int(num(opt(a, h, 'height'), 480))}",
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
    "internet.password": lambda c, a, h: c.faker.password(length=int(num(opt(a, h, "length"), 15)), special_chars=False),
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
    "location.latitude": lambda c, a, h: round(c.random.uniform(num(opt(a, h, "min"), -90), num(opt(a, h, "max", 1), 90)), int(num(opt(a, h, "precision", 2), 4))),
    "location.longitude": lambda c, a, h: round(c.random.uniform(num(opt(a, h, "min"), -180), num(opt(a, h, "max", 1), 180)), int(num(opt(a, h, "precision", 2), 4))),
    "location.secondaryAddress": _py("secondary_address"),
    "location.state": lambda c, a, h: c.faker.state_abbr() if h.get("abbreviated") else c.faker.state(),
    "location.street": _py("street_name"),
    "location.streetAddress": _py("street_address"),
    "location.timeZone": _py("timezone"),
    "location.zipCode": _py("postcode"),
    "lorem.lines": lambda c, a, h: "\n".join(c.faker.sentences(int(num(opt(a, h, "lineCount"), 3)))),
    "lorem.paragraph": _py("paragraph"),
    "lorem.paragraphs": _paragraphs,
    "lorem.sentence": _py("sentence"),
    "lorem.sentences": _sentences,
    "lorem.slug": lambda c, a, h: "-".join(c.faker.words(int(num(opt(a, h, "wordCount"), 3)))),
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



