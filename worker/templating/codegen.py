"""Program bodies compiled to one Python function each.

The closure compiler gives every statement its own function; in loops over data buckets the
calls between them were most of the cost. Here a body's most common statements are written
out as straight-line Python in one function: text, ``{{name}}`` property reads, ``{{@index}}``
data reads and ``#if``/``#unless`` on one of those (their branches inline when they are
constant text). Everything else is still a call to its compiled closure. Only names and text
from the template reach the generated source, and only through ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .jsvalues import UNDEFINED, SafeString, format_number, to_output, truthy

Renderer = Callable[[Any], str]
_SAFE_INT = 10**21  # below it JavaScript prints an integer in full, as str() does

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)
_NEEDS_ESCAPE = frozenset(_ESCAPES)


def _format(value: Any, escaped: bool) -> str:
    """A mustache's output for a value that is not a plain string (or int, for data)."""
    if value is UNDEFINED or value is None:
        return ""
    if isinstance(value, SafeString):
        return str.__str__(value)
    text = to_output(value)
    if escaped and not _NEEDS_ESCAPE.isdisjoint(text):
        return text.translate(_ESCAPE_TABLE)
    return text


class Spec:
    """How a compiled statement can be written inline (set on its renderer as ``inline``)."""

    __slots__ = ("kind", "name", "escaped", "fallback", "argument", "run", "otherwise", "negate")

    def __init__(self, kind: str, name: str = "", escaped: bool = True, fallback: Callable[[Any], Any] | None = None,
                 argument: Spec | Callable[[Any], Any] | None = None, run: Renderer | None = None,
                 otherwise: Renderer | None = None, negate: bool = False) -> None:
        self.kind = kind  # "prop", "data" or "cond"
        self.name = name
        self.escaped = escaped
        self.fallback = fallback  # prop: the value when ``this`` is not a plain object or block params exist
        self.argument = argument  # cond: a prop/data Spec, or an evaluator
        self.run = run
        self.otherwise = otherwise
        self.negate = negate  # unless


def generate(parts: list[Renderer | str]) -> Renderer | None:
    """One function for the body, or None when nothing in it can be written inline."""
    specs = [getattr(p, "inline", None) for p in parts if not isinstance(p, str)]
    if not any(specs):
        return None
    lines, result, env, uses_ctx = _emit(parts)
    head = ["def render(frame):", "    data = frame.data"]
    if uses_ctx:
        head += ["    ctx = frame.ctx", "    plain = not frame.bparams and ctx.__class__ is dict"]
    render = _define(head + ["    " + line for line in lines] + [f"    return {result}"], env, "render")
    render.parts = parts  # type: ignore[attr-defined]
    return render


def generate_loop(parts: list[Renderer | str], data_keys: tuple[str, ...], keep_depths: bool) -> Callable[..., str]:
    """``#each`` over a body that keeps no reference to its frame, written as one loop:
    ``loop(frame, pairs, last, data)`` moves ``frame`` along the items and, when the body
    reads them, sets ``data_keys`` of the data frame in place."""
    lines, result, env, uses_ctx = _emit(parts)
    values = {"key": "key", "index": "index", "first": "index == 0", "last": "index == last"}
    loop = ["def loop(frame, pairs, last, data):",
            "    out = []", "    append = out.append", "    index = 0", "    depths = frame.depths",
            "    params = frame.bparams", "    budget = frame.scope.budget if frame.scope is not None else None",
            "    for key, item in pairs:", "        frame.ctx = ctx = item"]
    if keep_depths:
        loop.append("        frame.depths = (item, *depths)")
    loop += [f"        data[{name!r}] = {values[name]}" for name in data_keys]
    if uses_ctx:
        loop.append("        plain = not params and item.__class__ is dict")
    loop += ["        " + line for line in lines]
    loop += [f"        append({result})", "        index += 1",
             "        if budget is not None and not index & 7:", "            budget.tick(out)",
             "    return ''.join(out)"]
    return _define(loop, env, "loop")


def _define(lines: list[str], env: dict[str, Any], name: str) -> Any:
    exec(compile("\n".join(lines), "<template>", "exec"), env)  # noqa: S102 - template text only via repr
    return env[name]


def _emit(parts: list[Renderer | str]) -> tuple[list[str], str, dict[str, Any], bool]:
    """Statements computing each part (``frame``, ``ctx``, ``data``, ``plain`` in scope) and
    the expression joining them."""
    env: dict[str, Any] = {"U": UNDEFINED, "_fmt": _format, "_num": format_number, "_truthy": truthy,
                           "_ND": _NEEDS_ESCAPE, "_ET": _ESCAPE_TABLE}
    body: list[str] = []
    pieces: list[str] = []
    uses_ctx = False

    def value_of(spec: Spec, slot: str) -> str:
        nonlocal uses_ctx
        if spec.kind == "data":
            return f"data.get({spec.name!r}, U)"
        uses_ctx = True
        env[slot] = spec.fallback
        return f"(ctx.get({spec.name!r}, U) if plain else {slot}(frame))"

    for index, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(part.replace("{", "{{").replace("}", "}}"))
            continue
        spec: Spec | None = getattr(part, "inline", None)
        var = f"s{index}"
        if spec is None:
            env[f"_p{index}"] = part
            body.append(f"{var} = _p{index}(frame)")
        elif spec.kind in ("prop", "data"):
            body.append(f"v = {value_of(spec, f'_f{index}')}")
            if spec.kind == "data":
                body.append(f"{var} = (str(v) if -{_SAFE_INT} < v < {_SAFE_INT} else _num(v)) if v.__class__ is int "
                            f"else _fmt(v, {spec.escaped!r})")
            elif spec.escaped:
                body.append(f"{var} = (v if _ND.isdisjoint(v) else v.translate(_ET)) if v.__class__ is str else _fmt(v, True)")
            else:
                body.append(f"{var} = v if v.__class__ is str else _fmt(v, False)")
        else:  # cond
            argument = spec.argument
            if isinstance(argument, Spec):
                body.append(f"v = {value_of(argument, f'_a{index}')}")
            else:
                env[f"_a{index}"] = argument
                body.append(f"v = _a{index}(frame)")
            # Handlebars' #if: falsy, or an empty array, takes the inverse
            body.append("t = v is True or (v is not False and _truthy(v) and not (v.__class__ is list and not v))")
            chosen = [spec.otherwise, spec.run] if not spec.negate else [spec.run, spec.otherwise]
            branches = []
            for which, renderer in zip(("f", "t"), chosen, strict=True):
                constant = getattr(renderer, "constant", None)
                if constant is not None:
                    branches.append(repr(constant))
                else:
                    env[f"_{which}{index}"] = renderer
                    branches.append(f"_{which}{index}(frame)")
            body.append(f"{var} = {branches[1]} if t else {branches[0]}")
        pieces.append("{" + var + "}")
    # one f-string (2.4x faster than joining a tuple): text with its braces doubled and a {sN}
    # per computed part; repr() makes the whole a valid literal whatever the text holds
    return body, "f" + repr("".join(pieces)), env, uses_ctx
