"""A Handlebars-compatible template engine with Mockoon's helpers.

``Engine.render(source, scope)`` compiles ``source`` once (cached per engine, and an
engine lives as long as one environment revision) and renders it against ``scope``, the
per-request view of request, state and faker that helpers read. See ``helpers/`` for the
helper table and ``HELPERS.md`` beside this file for their status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..jsvalues import UNDEFINED, SafeString
from .budget import Budget
from .compiler import compile_template
from .errors import TemplateBudgetExceeded, TemplateError, TemplateSyntaxError
from .helpers import ALL_HELPERS
from .runtime import Frame, HelperSpec, Renderer

__all__ = [
    "Budget",
    "Engine",
    "SafeString",
    "TemplateBudgetExceeded",
    "TemplateError",
    "TemplateSyntaxError",
    "UNDEFINED",
]


class Engine:
    """Compiled-template cache plus the helper table; one per environment revision."""

    def __init__(self, helpers: dict[str, HelperSpec] | None = None, cache_size: int = 4096) -> None:
        self.helpers = dict(ALL_HELPERS if helpers is None else helpers)
        self._cache: dict[str, Renderer] = {}
        self._cache_size = cache_size

    def compile(self, source: str) -> Renderer:
        render = self._cache.get(source)
        if render is None:
            render = compile_template(source, self.helpers)
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[source] = render
        return render

    def render(self, source: str, scope: Any) -> str:
        """Render ``source``; errors surface as ``TemplateError`` with Mockoon-like messages."""
        if "{{" not in source and "\x00" not in source:  # Handlebars' lexer refuses NUL in content
            return source
        render = self.compile(source)
        try:
            root: dict[str, Any] = {}
            return render(Frame(root, (root,), {"root": root}, (), scope))
        except TemplateError:
            raise
        except RecursionError:
            raise TemplateError("template nesting is too deep") from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError, OverflowError) as error:
            raise TemplateError(str(error)) from error


def is_template(text: str) -> bool:
    return "{{" in text


RenderFn = Callable[[str, Any], str]
