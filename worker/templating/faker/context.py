"""The per-worker faker: one Python Faker instance (locale, seed, faker-js' Latin lorem words),
its Random, and the table of faker-js method paths it serves."""

from __future__ import annotations

import bisect
import itertools
from functools import cache
from random import Random
from typing import TYPE_CHECKING

from .arguments import data
from .registry import FAKER_METHODS, Gen

if TYPE_CHECKING:
    from faker import Faker


@cache
def _latin_lorem() -> type:
    """faker-js writes lorem text from its Latin word list in every locale; Python Faker's English
    locales use English words, so its lorem provider is given faker-js' list."""
    from faker.providers.lorem import Provider

    return type("LatinLorem", (Provider,), {"__provider__": "lorem", "word_list": tuple(data()["lorem"]["word"])})


class FakerContext:
    """The per-worker faker: one Python Faker instance with locale and seed, plus a Random."""

    faker: Faker
    random: Random
    methods: dict[str, Gen]

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
        self.methods = FAKER_METHODS  # generators that call other paths look them up here
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




_unseeded: dict[str, FakerContext] = {}


def faker_context(locale: str = "en", seed: int | None = None) -> FakerContext:
    """A seeded context of its own; an unseeded one shared per locale and process.

    Sharing changes nothing an unseeded context does: Python Faker then draws from its one
    module-level Random whichever instance is asked. It saves each worker building a Faker
    (about 2 MiB and 2 ms), and a forked worker uses the one its fork server built."""
    if seed is not None:
        return FakerContext(locale, seed)
    context = _unseeded.get(locale)
    if context is None:
        context = _unseeded[locale] = FakerContext(locale, None)
    return context
