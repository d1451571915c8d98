"""Handlebars' own helpers (if, unless, each, with, lookup, log) and Mockoon's helperMissing."""

from __future__ import annotations

from typing import Any

from ...jsvalues import is_nullish, truthy
from ..errors import TemplateError
from ..runtime import Options, create_frame, helper_table, lookup_property


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def _is_empty(value: Any) -> bool:
    """Handlebars' ``isEmpty``: falsy but not 0, or an empty array."""
    return (not truthy(value) and not _is_zero(value)) or (isinstance(value, list) and not value)


def _condition_false(opts: Options, value: Any) -> bool:
    include_zero = opts.hash.get("includeZero") is True
    return (not include_zero and not truthy(value)) or _is_empty(value)


def if_(opts: Options, *args: Any) -> str:
    if len(args) != 1:
        raise TemplateError("#if requires exactly one argument")
    return opts.inverse() if _condition_false(opts, args[0]) else opts.fn()


def unless(opts: Options, *args: Any) -> str:
    if len(args) != 1:
        raise TemplateError("#unless requires exactly one argument")
    return opts.fn() if _condition_false(opts, args[0]) else opts.inverse()


def each(opts: Options, *args: Any) -> str:
    if not args:
        raise TemplateError("Must pass iterator to #each")
    context = args[0]
    scope = opts.scope
    out: list[str] = []
    data = create_frame(opts.data)
    if isinstance(context, list):
        last = len(context) - 1
        for index, item in enumerate(context):
            frame = dict(data)
            frame.update(key=index, index=index, first=index == 0, last=index == last)
            out.append(opts.fn(item, frame, [item, index]))
            if scope is not None:
                scope.budget.tick(out)
    elif isinstance(context, dict):
        keys = list(context.keys())
        last = len(keys) - 1
        for index, key in enumerate(keys):
            frame = dict(data)
            frame.update(key=key, index=index, first=index == 0, last=index == last)
            out.append(opts.fn(context[key], frame, [context[key], key]))
            if scope is not None:
                scope.budget.tick(out)
    # strings, numbers and other primitives are not iterated (Handlebars 4 tests
    # ``typeof context === 'object'``): the inverse renders
    if not out:
        return opts.inverse()
    return "".join(out)


def with_(opts: Options, *args: Any) -> str:
    if len(args) != 1:
        raise TemplateError("#with requires exactly one argument")
    value = args[0]
    if _is_empty(value):
        return opts.inverse()
    return opts.fn(value, None, [value])


def lookup(opts: Options, *args: Any) -> Any:
    if len(args) < 2 or is_nullish(args[0]):
        return args[0] if args else None
    return lookup_property(args[0], args[1])


def log(opts: Options, *args: Any) -> str:
    return ""


def helper_missing(opts: Options, *args: Any) -> str:
    """Mockoon registers a helperMissing that renders nothing instead of throwing."""
    return ""


HELPERS = helper_table({
    "if": if_,
    "unless": unless,
    "each": each,
    "with": with_,
    "lookup": lookup,
    "log": log,
    "helperMissing": helper_missing,
})
