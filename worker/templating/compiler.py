"""Compile a parsed template into nested Python closures, once; render many times.

Rendering follows Handlebars.js 4 as Mockoon configures it: helpers first, then the
context; unknown helpers render nothing (Mockoon's ``helperMissing``); values print with
JavaScript's ``String()``; escaped mustaches use Handlebars' HTML escape table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import TemplateError
from .jsvalues import UNDEFINED, SafeString, is_nullish, to_output
from .parser import Block, Comment, Content, Literal, Mustache, Path, Program, SubExpr, parse

Helper = Callable[..., Any]

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)
_NEEDS_ESCAPE = frozenset(_ESCAPES)


def escape_html(text: str) -> str:
    if _NEEDS_ESCAPE.isdisjoint(text):
        return text
    return text.translate(_ESCAPE_TABLE)


class Frame:
    """Everything a running statement can see: ``this``, parent contexts, @data, block params."""

    __slots__ = ("ctx", "depths", "data", "bparams", "scope")

    def __init__(self, ctx: Any, depths: tuple[Any, ...], data: dict[str, Any], bparams: tuple[dict[str, Any], ...], scope: Any):
        self.ctx = ctx
        self.depths = depths
        self.data = data
        self.bparams = bparams
        self.scope = scope


Renderer = Callable[[Frame], str]
Evaluator = Callable[[Frame], Any]

_MISSING: Any = object()


class Options:
    """The ``options`` argument of a helper: hash, data, and the block's programs."""

    __slots__ = ("frame", "hash", "name", "line", "_program", "_inverse", "block_param_count", "is_block", "_names")

    def __init__(self, frame: Frame, hash_: dict[str, Any], name: str, line: int,
                 program: Renderer | None, inverse: Renderer | None, block_param_count: int, is_block: bool,
                 names: list[str] | None = None):
        self.frame = frame
        self.hash = hash_
        self.name = name
        self.line = line
        self._program = program
        self._inverse = inverse
        self.block_param_count = block_param_count
        self.is_block = is_block
        self._names = names

    @property
    def context(self) -> Any:
        return self.frame.ctx

    @property
    def data(self) -> dict[str, Any]:
        return self.frame.data

    @property
    def scope(self) -> Any:
        return self.frame.scope

    def _run(self, program: Renderer | None, context: Any, data: dict[str, Any] | None,
             block_params: list[Any] | None, param_names: list[str] | None = None) -> str:
        if program is None:
            return ""
        frame = self.frame
        ctx = frame.ctx if context is _MISSING else context
        depths = frame.depths if ctx is frame.depths[0] else (ctx, *frame.depths)
        bparams = frame.bparams
        if block_params is not None and param_names:
            bparams = ({name: block_params[i] if i < len(block_params) else UNDEFINED for i, name in enumerate(param_names)}, *bparams)
        return program(Frame(ctx, depths, frame.data if data is None else data, bparams, frame.scope))

    def fn(self, context: Any = _MISSING, data: dict[str, Any] | None = None, block_params: list[Any] | None = None) -> str:
        names = self._names if self._names is not None else getattr(self._program, "block_param_names", None)
        return self._run(self._program, context, data, block_params, names)

    def inverse(self, context: Any = _MISSING, data: dict[str, Any] | None = None) -> str:
        return self._run(self._inverse, context, data, None)

    @property
    def has_inverse(self) -> bool:
        return self._inverse is not None


def lookup_property(obj: Any, name: Any) -> Any:
    """Own-property access as Handlebars allows it (no prototype members except length)."""
    if isinstance(obj, dict):
        value = obj.get(name if isinstance(name, str) else str(name), UNDEFINED)
        return value
    if isinstance(obj, (list, str)):
        if name == "length":
            return len(obj)
        key = name if isinstance(name, int) else (int(name) if isinstance(name, str) and name.isdigit() else None)
        if key is not None and not isinstance(key, bool) and 0 <= key < len(obj):
            return obj[key]
    return UNDEFINED


def create_frame(data: dict[str, Any]) -> dict[str, Any]:
    frame = dict(data)
    frame["_parent"] = data
    return frame


class Compiler:
    def __init__(self, helpers: dict[str, Helper]):
        self.helpers = helpers

    # --- expressions -------------------------------------------------------------------
    def path(self, path: Path) -> Evaluator:
        parts = path.parts
        if path.data:
            depth = path.depth

            def eval_data(frame: Frame) -> Any:
                data: Any = frame.data
                for _ in range(depth):
                    data = data.get("_parent", {}) if isinstance(data, dict) else {}
                value = data
                for part in parts:
                    if is_nullish(value):
                        return UNDEFINED
                    value = lookup_property(value, part)
                return value

            return eval_data
        depth = path.depth
        first = parts[0] if parts else None
        may_be_block_param = path.simple or (not path.this and depth == 0 and first is not None)

        def eval_path(frame: Frame) -> Any:
            if may_be_block_param and frame.bparams:
                for params in frame.bparams:
                    if first in params:
                        value = params[first]
                        for part in parts[1:]:
                            if is_nullish(value):
                                return UNDEFINED
                            value = lookup_property(value, part)
                        return value
            if depth:
                value = frame.depths[depth] if depth < len(frame.depths) else UNDEFINED
            else:
                value = frame.ctx
            for part in parts:
                if is_nullish(value):
                    return UNDEFINED
                value = lookup_property(value, part)
            return value

        return eval_path

    def expr(self, node: Any) -> Evaluator:
        if isinstance(node, Literal):
            value = node.value
            return lambda frame: value
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, SubExpr):
            return self.call(node, None, None, is_block=False)
        raise TemplateError(f"cannot compile {type(node).__name__}")

    def call(self, call: SubExpr, program: Renderer | None, inverse: Renderer | None, is_block: bool,
             block_param_count: int = 0) -> Evaluator:
        """A helper call or a value lookup, decided at render time like Handlebars' invokeAmbiguous."""
        head = call.path
        name = head.original if isinstance(head, Path) else str(head.value)
        simple = isinstance(head, Literal) or head.simple
        helper_name = (head.parts[0] if isinstance(head, Path) and head.parts else name) if simple else None
        params = [self.expr(p) for p in call.params]
        hash_items = [(key, self.expr(value)) for key, value in call.hash.items()]
        lookup = self.expr(head) if isinstance(head, Path) else (lambda frame: UNDEFINED)
        has_args = bool(params or hash_items)
        helpers = self.helpers
        line = call.line

        # Helpers are fixed for an engine, so the helper-or-value decision Handlebars makes at
        # run time (invokeAmbiguous) is made once here.
        static_helper = helpers.get(helper_name) if helper_name is not None and not isinstance(head, Literal) else None
        if static_helper is not None:
            helper_fn = static_helper
            names = getattr(program, "block_param_names", None)
            if not hash_items and len(params) == 1:
                only = params[0]

                def call_one(frame: Frame) -> Any:
                    return helper_fn(Options(frame, {}, name, line, program, inverse, block_param_count, is_block,
                                             names), only(frame))

                return call_one

            def call_helper(frame: Frame) -> Any:
                args = [p(frame) for p in params]
                hash_ = {key: value(frame) for key, value in hash_items} if hash_items else {}
                return helper_fn(Options(frame, hash_, name, line, program, inverse, block_param_count, is_block,
                                         names), *args)

            return call_helper
        if not has_args and not is_block and simple and isinstance(head, Path):
            missing = helpers["helperMissing"]

            def plain_value(frame: Frame) -> Any:
                value = lookup(frame)
                if value is UNDEFINED or value is None:
                    return missing(Options(frame, {}, name, line, None, None, 0, False))
                return value

            return plain_value

        def evaluate(frame: Frame) -> Any:
            helper = helpers.get(helper_name) if helper_name is not None else None
            if helper is None and simple and isinstance(head, Literal):
                helper = None
            if helper is not None:
                args = [p(frame) for p in params]
                hash_ = {key: value(frame) for key, value in hash_items}
                return helper(Options(frame, hash_, name, line, program, inverse, block_param_count, is_block), *args)
            if has_args:
                return helpers["helperMissing"](Options(frame, {}, name, line, program, inverse, 0, is_block))
            value = lookup(frame)
            if is_block:
                return _block_helper_missing(Options(frame, {}, name, line, program, inverse, block_param_count, True), value)
            if is_nullish(value) and simple:
                return helpers["helperMissing"](Options(frame, {}, name, line, None, None, 0, False))
            return value

        return evaluate

    # --- statements --------------------------------------------------------------------
    def program(self, program: Program | None) -> Renderer | None:
        if program is None:
            return None
        parts: list[Renderer | str] = []
        for node in program.body:
            if isinstance(node, Content):
                if node.value:
                    parts.append(node.value)
            elif isinstance(node, Comment):
                continue
            elif isinstance(node, Mustache):
                parts.append(self.mustache(node))
            elif isinstance(node, Block):
                parts.append(self.block(node))
        render = _join(parts)
        if program.block_params:
            render = _with_names(render, program.block_params)
        return render

    def mustache(self, node: Mustache) -> Renderer:
        evaluate = self.call(node.call, None, None, is_block=False)
        if node.escaped:
            def render_escaped(frame: Frame) -> str:
                value = evaluate(frame)
                if isinstance(value, SafeString):
                    return str.__str__(value)
                return escape_html(to_output(value))

            return render_escaped

        def render_raw(frame: Frame) -> str:
            return to_output(evaluate(frame))

        return render_raw

    def block(self, node: Block) -> Renderer:
        program = self.program(node.program)
        inverse = self.program(node.inverse)
        count = len(node.program.block_params) if node.program is not None else 0
        evaluate = self.call(node.call, program, inverse, is_block=True, block_param_count=count)
        if node.inverted:
            # {{^name}}: render the inverse program when the value is falsy/empty
            lookup = self.call(node.call, None, None, is_block=False)

            def render_inverted(frame: Frame) -> str:
                value = lookup(frame)
                empty = not value if not isinstance(value, list) else not value
                if is_nullish(value) or value is False or empty:
                    return inverse(frame) if inverse else ""
                return program(frame) if program else ""

            return render_inverted

        def render_block(frame: Frame) -> str:
            return to_output(evaluate(frame))

        return render_block


def _with_names(render: Renderer, names: list[str]) -> Renderer:
    def named(frame: Frame) -> str:
        return render(frame)

    named.block_param_names = names  # type: ignore[attr-defined]
    return named


def _join(parts: list[Renderer | str]) -> Renderer:
    if not parts:
        return lambda frame: ""
    if len(parts) == 1:
        only = parts[0]
        if isinstance(only, str):
            return lambda frame: only
        return only
    if all(isinstance(p, str) for p in parts):
        text = "".join(parts)  # type: ignore[arg-type]
        return lambda frame: text

    def render(frame: Frame) -> str:
        return "".join([p if p.__class__ is str else p(frame) for p in parts])  # type: ignore[operator, misc]

    return render


def _block_helper_missing(options: Options, value: Any) -> str:
    if value is True:
        return options.fn()
    if value is False or is_nullish(value):
        return options.inverse()
    if isinstance(value, list):
        if value:
            from .helpers.builtins import each

            return each(options, value)
        return options.inverse()
    return options.fn(value)


def compile_template(source: str, helpers: dict[str, Helper]) -> Renderer:
    ast = parse(source)
    render = Compiler(helpers).program(ast)
    assert render is not None
    return render
