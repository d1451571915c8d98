"""``{{faker 'module.method' ...}}`` and the legacy helpers (``firstName``, ``lorem`` …) that
Mockoon maps onto faker paths; an unknown path fails with Mockoon's message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...jsvalues import unsafe
from ..errors import TemplateError
from ..jsintegers import check_array_length, to_length
from ..runtime import Options, helper_table
from .context import FakerContext
from .core_methods import _float, _int
from .registry import FAKER_METHODS


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


HELPERS = helper_table({
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
}, binders={"faker": _bind_faker})


def _legacy_lorem(context: FakerContext, count: Any) -> str:
    """Mockoon's ``lorem``: ``faker.lorem.sentence(count)``, a count only when given as a number.

    faker-js makes the words with ``Array.from({length: count})``: no words for a count under 1
    (the sentence is then "."), and JavaScript's RangeError past the longest array."""
    if isinstance(count, (int, float)) and not isinstance(count, bool):
        words = to_length(count)
        check_array_length(words)
        if words == 0:
            return "."
    else:
        words = context.random.randint(3, 10)  # faker-js' default word count
    return str(context.faker.sentence(nb_words=words, variable_nb_words=False))
