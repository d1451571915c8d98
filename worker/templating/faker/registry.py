"""Every faker-js method path Mockoon 9.9 can call, to its generator."""

from __future__ import annotations

from .arguments import Gen
from .core_methods import METHODS
from .extra_methods import more_methods

FAKER_METHODS: dict[str, Gen] = dict(METHODS)
for _path, _generator in more_methods().items():
    FAKER_METHODS.setdefault(_path, _generator)
