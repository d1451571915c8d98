"""faker-js as Mockoon 9.9 exposes it, on Python Faker: the context, the method table, the helpers."""

from __future__ import annotations

from .context import FakerContext, faker_context
from .registry import FAKER_METHODS

__all__ = ["FAKER_METHODS", "FakerContext", "faker_context"]
