"""Program bodies compiled to one Python function each.

The closure compiler gives every statement its own function; in loops over data buckets the
calls between them were most of the cost. Here a body's most common statements are written
out as straight-line Python in one function: text, ``{{name}}`` property reads, ``{{@index}}``
data reads, helpers bound to the request scope (faker), and ``#if``/``#unless`` on a property,
a @data value or a ``gt/gte/lt/lte`` of one with a number, their branches written out in place
when they are text or generated bodies themselves. Everything else is still a call to its
compiled closure. Only names and text from the template reach the generated source, and only
through ``repr``. ``generate_loop`` writes a whole ``#each`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..jsvalues import UNDEFINED, format_number, truthy
from .escaping import ESCAPE_TABLE, NEEDS_ESCAPE, mustache_text
from .runtime import inline_spec, mark, traits_of

Renderer = Callable[[Any], str]
_SAFE_INT = 2**53 + 1  # below it a JavaScript number is the integer itself, printed as str() does


class Spec:
    """How a compiled statement can be written inline (recorded as its renderer's ``Traits.inline``)."""

    __slots__ = ("kind", "name", "escaped", "fallback", "argument", "run", "otherwise", "negate", "number")

    def __init__(self, kind: str, name: str = "", escaped: bool = True, fallback: Callable[[Any], Any] | None = None,
                 argument: Spec | Callable[[Any], Any] | None = None, run: Renderer | None = None,
                 otherwise: Renderer | None = None, negate: bool = False, number: float = 0) -> None:
        self.kind = kind  # "prop", "data", "scope", "cond", or "cmp" (name: the operator, number: the right side)
        self.number = number
        self.name = name
        self.escaped = escaped
        self.fallback = fallback  # prop: the value when ``this`` is not a plain object or block params exist
        self.argument = argument  # cond: a prop/data Spec, or an evaluator
        self.run = run
        self.otherwise = otherwise
        self.negate = negate  # unless


def generate(parts: list[Renderer | str]) -> Renderer | None:
    """One function for the body, or None when nothing in it can be written inline."""
    specs = [inline_spec(p) for p in parts if not isinstance(p, str)]
    if not any(specs):
        return None
    lines, result, env, reads_this = _emit(parts)
    head = ["def render(frame):", "    data = frame.data"]
    if reads_this:
        head += ["    ctx = frame.ctx", "    plain = not frame.bparams and ctx.__class__ is dict"]
    render = _define(head + ["    " + line for line in lines] + [f"    return {result}"], env, "render")
    mark(render, parts=parts)
    return render


def generate_loop(parts: list[Renderer | str], data_keys: tuple[str, ...], keep_depths: bool) -> Callable[..., str]:
    """``#each`` over a body that keeps no reference to its frame, written as one loop:
    ``loop(frame, pairs, last, data)`` moves ``frame`` along the items and, when the body
    reads them, sets ``data_keys`` of the data frame in place."""
    values = {"key": "key", "index": "index", "first": "index == 0", "last": "index == last"}
    # the body reads @key/@index/@first/@last from the loop's own variables; the data frame is
    # still kept up to date for the helpers a body may fall back to
    lines, result, env, reads_this = _emit(parts, {name: f"({values[name]})" for name in data_keys})
    loop = ["def loop(frame, pairs, last, data):",
            "    out = []", "    append = out.append", "    index = 0", "    depths = frame.depths",
            "    params = frame.bparams", "    budget = frame.scope.budget if frame.scope is not None else None",
            "    for key, item in pairs:", "        frame.ctx = ctx = item"]
    if keep_depths:
        loop.append("        frame.depths = (item, *depths)")
    if env["_calls_out"]:
        loop += [f"        data[{name!r}] = {values[name]}" for name in data_keys]
    if reads_this:
        loop.append("        plain = not params and item.__class__ is dict")
    loop += ["        " + line for line in lines]
    loop += [f"        append({result})", "        index += 1",
             "        if budget is not None and not index & 7:", "            budget.tick(out)",
             "    return ''.join(out)"]
    return _define(loop, env, "loop")


def _define(lines: list[str], env: dict[str, Any], name: str) -> Any:
    exec(compile("\n".join(lines), "<template>", "exec"), env)  # noqa: S102 - template text only via repr
    return env[name]


def _emit(parts: list[Renderer | str], loop_vars: dict[str, str] | None = None
          ) -> tuple[list[str], str, dict[str, Any], bool]:
    """Statements computing each part (``frame``, ``ctx``, ``data``, ``plain`` in scope) and
    the expression joining them; ``loop_vars`` maps @data names to expressions to read instead."""
    env: dict[str, Any] = {"U": UNDEFINED, "_fmt": mustache_text, "_num": format_number, "_truthy": truthy,
                           "_ND": NEEDS_ESCAPE, "_ET": ESCAPE_TABLE}
    state = _State()
    body, result = _emit_parts(parts, "", env, state, loop_vars or {})
    env["_calls_out"] = state.calls_out
    return body, result, env, state.reads_this


class _State:
    """What the generated code needs: ``this`` (ctx/plain locals), and whether it calls out to
    compiled closures that may read the data frame (a loop must then keep it up to date)."""

    __slots__ = ("reads_this", "calls_out")

    def __init__(self) -> None:
        self.reads_this = False
        self.calls_out = False


def _emit_parts(parts: list[Renderer | str], prefix: str, env: dict[str, Any],
                state: _State, loop_vars: dict[str, str]) -> tuple[list[str], str]:
    body: list[str] = []
    pieces: list[str] = []

    def value_of(spec: Spec, slot: str) -> str:
        if spec.kind == "data":
            return loop_vars.get(spec.name) or f"data.get({spec.name!r}, U)"
        state.reads_this = True
        env[slot] = spec.fallback
        return f"(ctx.get({spec.name!r}, U) if plain else {slot}(frame))"

    for index, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(part.replace("{", "{{").replace("}", "}}"))
            continue
        spec: Spec | None = inline_spec(part)
        tag = f"{prefix}{index}"
        var = f"s{tag}"
        if spec is None:
            state.calls_out = True  # a closure that may read the data frame
            env[f"_p{tag}"] = part
            body.append(f"{var} = _p{tag}(frame)")
        elif spec.kind in ("prop", "data", "scope"):
            if spec.kind == "scope":  # a helper bound at compile time that reads only the request scope
                env[f"_g{tag}"] = spec.fallback
                body.append(f"v = _g{tag}(frame.scope)")
            else:
                body.append(f"v = {value_of(spec, f'_f{tag}')}")
            if spec.kind == "data":
                body.append(f"{var} = (str(v) if -{_SAFE_INT} < v < {_SAFE_INT} else _num(v)) if v.__class__ is int "
                            f"else _fmt(v, {spec.escaped!r})")
            elif spec.escaped:
                body.append(f"{var} = (v if _ND.isdisjoint(v) else v.translate(_ET)) if v.__class__ is str else _fmt(v, True)")
            else:
                body.append(f"{var} = v if v.__class__ is str else _fmt(v, False)")
        else:  # cond
            argument = spec.argument
            if isinstance(argument, Spec) and argument.kind == "cmp":
                # gt/gte/lt/lte on a property or @data and a number: compared here when the value
                # is a number too, else by the helper (JavaScript's coercions)
                assert isinstance(argument.argument, Spec)
                if argument.argument.kind == "data":
                    state.calls_out = True  # its fallback reads the data frame
                env[f"_c{tag}"] = argument.fallback
                body.append(f"v = {value_of(argument.argument, f'_a{tag}')}")
                body.append(f"v = (v {argument.name} {argument.number!r}) if v.__class__ is int or v.__class__ is float "
                            f"else _c{tag}(frame)")
            elif isinstance(argument, Spec):
                body.append(f"v = {value_of(argument, f'_a{tag}')}")
            else:
                state.calls_out = True
                env[f"_a{tag}"] = argument
                body.append(f"v = _a{tag}(frame)")
            # Handlebars' #if: falsy, or an empty array, takes the inverse
            body.append("t = v is True or (v is not False and _truthy(v) and not (v.__class__ is list and not v))")
            chosen = [spec.otherwise, spec.run] if not spec.negate else [spec.run, spec.otherwise]
            branch_code: list[list[str]] = []
            for which, renderer in zip(("f", "t"), chosen, strict=True):
                known = traits_of(renderer)
                constant = known.constant if known is not None else None
                nested = known.parts if known is not None and known.parts else None
                if constant is not None:
                    branch_code.append([f"{var} = {constant!r}"])
                elif nested is not None:  # a generated body: written out here, one level deeper
                    lines, result = _emit_parts(nested, f"{tag}{which}_", env, state, loop_vars)
                    branch_code.append(lines + [f"{var} = {result}"])
                else:
                    state.calls_out = True
                    env[f"_b{which}{tag}"] = renderer
                    branch_code.append([f"{var} = _b{which}{tag}(frame)"])
            body.append("if t:")
            body += ["    " + line for line in branch_code[1]]
            body.append("else:")
            body += ["    " + line for line in branch_code[0]]
        pieces.append("{" + var + "}")
    # one f-string (2.4x faster than joining a tuple): text with its braces doubled and a {sN}
    # per computed part; repr() makes the whole a valid literal whatever the text holds
    return body, "f" + repr("".join(pieces))
