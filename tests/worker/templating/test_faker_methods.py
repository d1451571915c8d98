"""Every faker-js 9.9 method path Mockoon exposes resolves, with faker-js's formats, seeded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from schemas import environment_from_obj
from tests.conftest import make_env
from tests.worker.templating.test_engine import render
from worker.responder import MockServer, WorkerOptions
from worker.templating.faker import FAKER_METHODS, FakerContext

PATHS = json.loads((Path(__file__).with_name("faker_js_9_9_paths.json")).read_text())
NEEDS_ARGS = {"date.between", "helpers.arrayElement", "helpers.arrayElements", "helpers.enumValue", "helpers.fake",
              "helpers.objectEntry", "helpers.objectKey", "helpers.objectValue", "helpers.weightedArrayElement",
              "string.fromCharacters", "date.betweens", "helpers.multiple", "helpers.mustache", "helpers.maybe",
              "helpers.shuffle", "helpers.slugify", "helpers.uniqueArray", "helpers.replaceSymbols",
              "helpers.rangeToNumber", "helpers.fromRegExp"}


@pytest.fixture(scope="module")
def seeded() -> MockServer:
    env, _ = environment_from_obj(make_env([]))
    return MockServer(env, WorkerOptions(faker_seed=5))


def test_the_whole_faker_js_list_is_there() -> None:
    assert len(PATHS) == 265
    assert [p for p in PATHS if p not in FAKER_METHODS] == []


@pytest.mark.parametrize("path", [p for p in PATHS if p not in NEEDS_ARGS])
def test_each_method_renders_without_arguments(seeded: MockServer, path: str) -> None:
    out = render(seeded, "{{faker '" + path + "'}}")
    assert out != "" or path in ("helpers.maybe",)


def test_formats_follow_faker_js() -> None:
    ctx = FakerContext("en", 7)
    call = lambda path, *args, **hash_: FAKER_METHODS[path](ctx, list(args), hash_)  # noqa: E731
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", call("string.ulid"))
    isbn = call("commerce.isbn")
    digits = [int(c) for c in isbn.replace("-", "")]
    assert len(digits) == 13 and sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0
    routing = [int(c) for c in call("finance.routingNumber")]
    assert sum(d * w for d, w in zip(routing, [3, 7, 1] * 3, strict=True)) % 10 == 0
    assert re.fullmatch(r"[MDCLXVI]+", call("number.romanNumeral", min=1, max=3999))
    assert call("number.romanNumeral", min=1994, max=1994) == "MCMXCIV"
    assert len(call("internet.jwt").split(".")) == 3
    assert len(call("vehicle.vin")) == 17
    assert re.fullmatch(r"0x[0-9a-f]{40}", call("finance.ethereumAddress"))
    assert re.fullmatch(r"\(\.\.\.\d{4}\)", call("finance.maskedNumber"))
    assert re.fullmatch(r"[A-Z]{3}-\d{2,4}", call("helpers.fromRegExp", "[A-Z]{3}-\\d{2,4}"))
    assert re.fullmatch(r"\d\d-[A-Z]{2}", call("helpers.replaceSymbols", "##-??"))
    assert call("helpers.weightedArrayElement", [{"weight": 1, "value": "only"}]) == "only"
    assert call("helpers.mustache", "hi {{name}}", {"name": "ada"}) == "hi ada"
    assert set(call("helpers.shuffle", [1, 2, 3])) == {1, 2, 3}
    assert len(call("date.betweens", **{"from": "2020-01-01", "to": "2021-01-01", "count": 4})) == 4
    assert "{{" not in call("hacker.phrase") and "{{" not in call("food.description")


def test_objects_and_arrays_print_as_handlebars_prints_them(seeded: MockServer) -> None:
    assert render(seeded, "{{faker 'science.chemicalElement'}}") == "[object Object]"
    assert render(seeded, "{{lookup (faker 'science.chemicalElement') 'symbol'}}").isalpha()
    assert re.fullmatch(r"\d+,[01](\.\d+)?,[01](\.\d+)?", render(seeded, "{{faker 'color.hsl'}}"))


def test_seed_gives_repeatable_sequences() -> None:
    first = [FAKER_METHODS["animal.dog"](FakerContext("en", 3), [], {}) for _ in range(3)]
    second = [FAKER_METHODS["animal.dog"](FakerContext("en", 3), [], {}) for _ in range(3)]
    assert first == second


def test_every_mockoon_locale_maps_to_a_python_faker_locale() -> None:
    from faker.config import AVAILABLE_LOCALES

    from worker.templating.faker.locales import MOCKOON_LOCALES, python_locale

    mapped = {locale: python_locale(locale) for locale in MOCKOON_LOCALES}
    assert all(value in AVAILABLE_LOCALES for value in mapped.values())
    assert mapped["de"] in ("de", "de_DE") and mapped["fr"] == "fr_FR" and mapped["ja"] == "ja_JP"
    assert mapped["nb_NO"] == "no_NO" and mapped["pt_BR"] == "pt_BR" and mapped["en"] == "en_US"
    german = FakerContext("de", 1)
    names = {FAKER_METHODS["location.city"](german, [], {}) for _ in range(20)}
    assert len(names) > 5
