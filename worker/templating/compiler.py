"""Compile a parsed template into nested Python closures, once; render many times.

Rendering follows Handlebars.js 4 as Mockoon configures it: helpers first, then the
context; unknown helpers render nothing (Mockoon's ``helperMissing``); values print with
JavaScript's ``String()``; escaped mustaches use Handlebars' HTML escape table.
"""

from __future__ import annotations

import math
from typing import Any

from ..jsvalues import UNDEFINED, SafeString, format_number, is_nullish, to_output, truthy
from .codegen import Spec, generate, generate_loop
from .errors import TemplateError
from .escaping import ESCAPE_TABLE, NEEDS_ESCAPE, escape_html, mustache_text
from .helpers import builtins
from .parser import parse
from .runtime import (
    Evaluator,
    Frame,
    HelperSpec,
    Options,
    Renderer,
    create_frame,
    inline_spec,
    lookup_property,
    mark,
    traits_of,
)
from .syntax_tree import (
    Block,
    Comment,
    Content,
    Decorator,
    DecoratorBlock,
    Literal,
    Mustache,
    Partial,
    PartialBlock,
    Path,
    Program,
    SubExpr,
)


class Compiler:
    def __init__(self, helpers: dict[str, HelperSpec]):
        self.helpers = helpers
        # Counts compiled constructs that can observe the frame beyond the call itself (an
        # ``options`` object, @data): a loop body with none of them may reuse one frame.
        self.observers = 0
        self.parent_reads = 0  # paths with ``../``: a loop must keep the depth stack for them
        self.data_reads = 0  # @index, @key, @root…: a loop must keep per-item data for them
        self.data_names: list[str] = []  # the names of plain ``@name`` reads, in compile order

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

            self.data_reads += 1
            if not depth and len(parts) == 1:
                name = parts[0]
                self.data_names.append(name)

                def eval_data_name(frame: Frame) -> Any:
                    return frame.data.get(name, UNDEFINED)

                mark(eval_data_name, inline=Spec("data", name))
                return eval_data_name
            return eval_data
        depth = path.depth
        if depth:
            self.parent_reads += 1
        first = parts[0] if parts else None
        may_be_block_param = path.simple or (not path.this and depth == 0 and first is not None)

        if may_be_block_param and not depth and len(parts) == 1:
            only_part = parts[0]

            def eval_name(frame: Frame) -> Any:
                # the common ``{{name}}``: one own property of ``this`` (or a block param)
                if frame.bparams:
                    for params in frame.bparams:
                        if only_part in params:
                            return params[only_part]
                ctx = frame.ctx
                if ctx.__class__ is dict:
                    return ctx.get(only_part, UNDEFINED)
                return UNDEFINED if is_nullish(ctx) else lookup_property(ctx, only_part)

            mark(eval_name, inline=Spec("prop", only_part, fallback=eval_name))
            return eval_name

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
             block_param_count: int = 0, pure_body: bool = False) -> Evaluator:
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
        names = _block_param_names(program)
        if static_helper is not None:
            helper_fn = static_helper.fn
            if static_helper.options_free and not hash_items and not is_block and 1 <= len(params) <= 2:
                # Pure value helpers never read ``options``: skip building it (hot in loops).
                if len(params) == 1:
                    first_arg = params[0]
                    return lambda frame: helper_fn(None, first_arg(frame))
                left, right = params
                if isinstance(call.params[1], Literal):
                    constant = call.params[1].value
                    left_spec = inline_spec(left)
                    if left_spec is not None and left_spec.kind == "prop":
                        prop = left_spec.name

                        def call_with_literal(frame: Frame) -> Any:
                            ctx = frame.ctx
                            if not frame.bparams and ctx.__class__ is dict:
                                return helper_fn(None, ctx.get(prop, UNDEFINED), constant)
                            return helper_fn(None, left(frame), constant)
                    else:
                        def call_with_literal(frame: Frame) -> Any:
                            return helper_fn(None, left(frame), constant)

                    op = static_helper.compare_op
                    number = isinstance(constant, (int, float)) and not isinstance(constant, bool) and math.isfinite(constant)
                    if op is not None and number and left_spec is not None:
                        # a property or @data against a number: generated code compares it in place
                        mark(call_with_literal, inline=Spec("cmp", op, argument=left_spec, fallback=call_with_literal,
                                                            number=constant))
                    return call_with_literal
                return lambda frame: helper_fn(None, left(frame), right(frame))
            bind = static_helper.bind_literals
            if bind is not None and not hash_items and not is_block and all(isinstance(p, Literal) for p in call.params):
                bound = bind([p.value for p in call.params], line)
                if bound is not None:
                    evaluate_bound = lambda frame: bound(frame.scope)  # noqa: E731
                    mark(evaluate_bound, scope_fn=bound)
                    return evaluate_bound
            if not hash_items and len(params) == 1:
                only = params[0]

                def call_one(frame: Frame) -> Any:
                    return helper_fn(Options(frame, {}, name, line, program, inverse, block_param_count, is_block,
                                             names, pure_body), only(frame))

                self.observers += 1
                return call_one

            def call_helper(frame: Frame) -> Any:
                args = [p(frame) for p in params]
                hash_ = _hash(hash_items, frame) if hash_items else {}
                return helper_fn(Options(frame, hash_, name, line, program, inverse, block_param_count, is_block,
                                         names, pure_body), *args)

            self.observers += 1
            return call_helper
        if not has_args and not is_block and simple and isinstance(head, Path):
            missing = helpers["helperMissing"].fn

            def plain_value(frame: Frame) -> Any:
                value = lookup(frame)
                if value is UNDEFINED or value is None:
                    return missing(Options(frame, {}, name, line, None, None, 0, False))
                return value

            if missing is not builtins.helper_missing:
                self.observers += 1
            return plain_value

        def evaluate(frame: Frame) -> Any:
            spec = helpers.get(helper_name) if helper_name is not None else None
            if spec is not None:
                helper = spec.fn
                args = [p(frame) for p in params]
                hash_ = _hash(hash_items, frame)
                return helper(Options(frame, hash_, name, line, program, inverse, block_param_count, is_block, names),
                              *args)
            if has_args:
                return helpers["helperMissing"].fn(Options(frame, {}, name, line, program, inverse, 0, is_block))
            value = lookup(frame)
            if is_block:
                if simple and is_nullish(value):
                    # Handlebars calls the helperMissing hook for an unknown block name and hands
                    # its answer ('' in Mockoon) to blockHelperMissing, which renders the block
                    value = helpers["helperMissing"].fn(Options(frame, {}, name, line, None, None, 0, False))
                return _block_helper_missing(
                    Options(frame, {}, name, line, program, inverse, block_param_count, True, names), value)
            if is_nullish(value) and simple:
                return helpers["helperMissing"].fn(Options(frame, {}, name, line, None, None, 0, False))
            return value

        self.observers += 1
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
            elif isinstance(node, (Partial, PartialBlock)):
                parts.append(self.partial(node))
            elif isinstance(node, DecoratorBlock):
                continue  # only `inline` gets here (see compile_template), and it renders nothing
        render = _join(parts)
        if program.block_params:
            render = _with_names(render, program.block_params)
        return render

    def partial(self, node: Partial | PartialBlock) -> Renderer:
        """No partials are registered in Mockoon: ``{{> x}}`` fails when it runs, ``{{#> x}}default{{/x}}``
        renders its default content (with the partial's context: its argument, extended by its hash)."""
        if len(node.params) > 1:
            raise TemplateError(f"Unsupported number of partial arguments: {len(node.params)} - {node.line}:{node.column}")
        if isinstance(node, Partial):
            name = "undefined" if isinstance(node.name, SubExpr) else (
                node.name.original if isinstance(node.name, Path) else _js_string(node.name.value))

            def render_missing(frame: Frame) -> str:
                raise TemplateError(f"The partial {name} could not be found")

            return render_missing
        program = self.program(node.program)
        assert program is not None
        argument = self.expr(node.params[0]) if node.params else None
        hash_items = [(key, self.expr(value)) for key, value in node.hash.items()]

        def render_default(frame: Frame) -> str:
            ctx = argument(frame) if argument is not None else frame.ctx
            if hash_items:
                ctx = {**(ctx if isinstance(ctx, dict) else {}), **_hash(hash_items, frame)}
            depths = frame.depths if ctx is frame.depths[0] else (ctx, *frame.depths)
            return program(Frame(ctx, depths, frame.data, frame.bparams, frame.scope))

        return render_default

    def mustache(self, node: Mustache) -> Renderer:
        call = node.call
        head = call.path
        if (isinstance(head, Path) and head.data and not head.depth and len(head.parts) == 1 and not call.params
                and not call.hash):
            # ``{{@index}}``, ``{{@key}}``: one read of the data frame
            self.data_reads += 1
            data_name = head.parts[0]
            self.data_names.append(data_name)
            escaped = node.escaped

            def render_data(frame: Frame) -> str:
                value = frame.data.get(data_name, UNDEFINED)
                return format_number(value) if value.__class__ is int else mustache_text(value, escaped)

            mark(render_data, inline=Spec("data", data_name, escaped))
            return render_data
        evaluate = self.call(node.call, None, None, is_block=False)
        if (node.escaped and isinstance(head, Path) and head.simple and len(head.parts) == 1 and not call.params
                and not call.hash and head.parts[0] not in self.helpers
                and self.helpers["helperMissing"].fn is builtins.helper_missing):
            # ``{{name}}`` naming a property: the most common mustache, fused into one call
            name = head.parts[0]

            def render_property(frame: Frame) -> str:
                ctx = frame.ctx
                if not frame.bparams and ctx.__class__ is dict:
                    value = ctx.get(name, UNDEFINED)
                else:
                    value = evaluate(frame)
                if value.__class__ is str:
                    return value if NEEDS_ESCAPE.isdisjoint(value) else value.translate(ESCAPE_TABLE)  # type: ignore[no-any-return]
                return mustache_text(value, True)

            mark(render_property, inline=Spec("prop", name, True, fallback=evaluate))
            return render_property
        known = traits_of(evaluate)
        scope_fn = known.scope_fn if known is not None else None
        if scope_fn is not None:
            def render_from_scope(frame: Frame) -> str:
                return mustache_text(scope_fn(frame.scope), node.escaped)

            mark(render_from_scope, inline=Spec("scope", escaped=node.escaped, fallback=scope_fn))
            return render_from_scope
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
        observers, parent_reads, data_reads = self.observers, self.parent_reads, self.data_reads
        named_reads = len(self.data_names)
        program = self.program(node.program)
        inverse = self.program(node.inverse)
        # which of a loop's @key/@index/@first/@last its body reads (all four if it reads @data otherwise)
        names_read = self.data_names[named_reads:]
        loop_keys = tuple(k for k in ("key", "index", "first", "last")
                          if k in names_read or self.data_reads - data_reads > len(names_read))
        reads_only_data = self.observers == observers  # nothing in the body holds an options object
        body_is_pure = reads_only_data and self.data_reads == data_reads
        body_reads_parents = self.parent_reads != parent_reads
        count = len(node.program.block_params) if node.program is not None else 0
        if not node.inverted:
            inline = self._inline_builtin(node, program, inverse, body_is_pure, body_reads_parents, reads_only_data,
                                          loop_keys)
            if inline is not None:
                return inline
        evaluate = self.call(node.call, program, inverse, is_block=True, block_param_count=count,
                             pure_body=body_is_pure and not count)

        def render_block(frame: Frame) -> str:
            return to_output(evaluate(frame))

        return render_block


    def _inline_builtin(self, node: Block, program: Renderer | None, inverse: Renderer | None,
                        body_is_pure: bool, body_reads_parents: bool, reads_only_data: bool,
                        loop_keys: tuple[str, ...]) -> Renderer | None:
        """``#if``/``#unless``/``#each`` with one argument, run without an ``options`` object.

        These are Handlebars' own helpers (unless an engine replaced them), so their
        semantics are fixed; inlining them removes the per-call and per-item overhead
        that dominates loops over data buckets.
        """
        head = node.call.path
        if not isinstance(head, Path) or not head.simple or node.call.hash or len(node.call.params) != 1:
            return None
        name = head.parts[0]
        spec = self.helpers.get(name)
        helper = spec.fn if spec is not None else None
        observers = self.observers
        argument = self.expr(node.call.params[0])
        run = program or _empty
        otherwise = inverse or _empty
        if (name == "if" and helper is builtins.if_) or (name == "unless" and helper is builtins.unless):
            if _block_param_names(program):
                return None
            unless = name == "unless"

            def render_condition(frame: Frame) -> str:
                value = argument(frame)
                if value is True:
                    return otherwise(frame) if unless else run(frame)
                false = not truthy(value) or (value.__class__ is list and not value)
                return otherwise(frame) if false is not unless else run(frame)

            mark(render_condition, inline=Spec("cond", argument=inline_spec(argument) or argument, run=run,
                                               otherwise=otherwise, negate=unless))
            return render_condition
        if name == "each" and helper is builtins.each:
            names: list[str] = _block_param_names(program) or []
            before_generic = self.observers
            generic = self.call(node.call, program, inverse, is_block=True, block_param_count=len(names))
            # the fallback (strings, other values) builds data from the frame it is given,
            # which reuse does not change
            self.observers = before_generic
            reuse = "frame" if body_is_pure and not names else "frame+data" if reads_only_data and not names else ""
            return _each_renderer(argument, run, otherwise, names, generic, reuse, body_reads_parents, loop_keys)
        self.observers = observers
        return None


def _hash(items: list[tuple[str, Evaluator]], frame: Frame) -> dict[str, Any]:
    """Hash arguments as Handlebars.js builds them: values evaluated left to right, keys
    assigned right to left (so ``(object a=1 b=2)`` iterates and prints ``b`` first)."""
    values = [(key, value(frame)) for key, value in items]
    return dict(reversed(values))




def _empty(frame: Frame) -> str:
    return ""


mark(_empty, constant="")


def _each_renderer(argument: Evaluator, run: Renderer, otherwise: Renderer, names: list[str],
                   generic: Evaluator, reuse: str, keep_depths: bool, loop_keys: tuple[str, ...]) -> Renderer:
    """Handlebars' ``each`` over arrays and objects: a data frame per item with @index,
    @key, @first and @last, the item as ``this`` (pushed on the depth stack) and block params.

    ``reuse`` is "frame" when the body reads neither @data nor holds an options object (one
    frame moves along), "frame+data" when it reads @data only (one data frame too, updated in
    place), "" otherwise; a generated body then runs as one generated loop."""
    known = traits_of(run)
    body_parts = known.parts if known is not None and known.parts else None
    loop = None
    if reuse and body_parts is not None:
        loop = generate_loop(body_parts, loop_keys if reuse == "frame+data" else (), keep_depths)

    def render_each(frame: Frame) -> str:
        value = argument(frame)
        if value.__class__ is list:
            pairs: Any = enumerate(value)
        elif value.__class__ is dict:
            pairs = value.items()
        else:
            return to_output(generic(frame))
        if not value:
            return otherwise(frame)
        depths = frame.depths
        outer_params = frame.bparams
        scope = frame.scope
        budget = scope.budget if scope is not None else None
        out: list[str] = []
        append = out.append
        index = 0
        last = len(value) - 1
        if loop is not None:
            data = create_frame(frame.data) if reuse == "frame+data" else frame.data
            return loop(Frame(None, depths, data, outer_params, scope), pairs, last, data)  # type: ignore[no-any-return]
        if reuse:
            # nothing in the body keeps the frame or writes @data (no options object reaches a
            # helper): one frame moved along, and one data frame updated in place if it is read
            data = create_frame(frame.data) if reuse == "frame+data" else frame.data
            shared = Frame(None, depths, data, outer_params, scope)
            for key, item in pairs:
                shared.ctx = item
                if keep_depths:
                    shared.depths = (item, *depths)
                if reuse == "frame+data":
                    data["key"], data["index"], data["first"], data["last"] = key, index, index == 0, index == last
                append(run(shared))
                index += 1
                if budget is not None and not index & 7:
                    budget.tick(out)
            return "".join(out)
        base = create_frame(frame.data)
        for key, item in pairs:
            data = {**base, "key": key, "index": index, "first": index == 0, "last": index == last}
            bparams = outer_params
            if names:
                bparams = ({names[0]: item, **({names[1]: key} if len(names) > 1 else {})}, *outer_params)
            append(run(Frame(item, (item, *depths), data, bparams, scope)))
            index += 1
            if budget is not None and not index & 7:
                budget.tick(out)
        return "".join(out)

    return render_each


def _with_names(render: Renderer, names: list[str]) -> Renderer:
    def named(frame: Frame) -> str:
        return render(frame)

    mark(named, block_param_names=names)
    return named


def _constant(text: str) -> Renderer:
    def render_text(frame: Frame) -> str:
        return text

    mark(render_text, constant=text)
    return render_text


def _join(parts: list[Renderer | str]) -> Renderer:
    if not parts:
        return _constant("")
    if len(parts) == 1:
        only = parts[0]
        if isinstance(only, str):
            return _constant(only)
        if inline_spec(only) is None:
            return only
    if all(isinstance(p, str) for p in parts):
        return _constant("".join(parts))  # type: ignore[arg-type]
    generated = generate(parts)
    if generated is not None:
        return generated

    if len(parts) == 2:
        first, second = parts
        if isinstance(second, str) and not isinstance(first, str):
            return lambda frame: first(frame) + second  # type: ignore[operator]
        if isinstance(first, str) and not isinstance(second, str):
            return lambda frame: first + second(frame)
        if not isinstance(first, str) and not isinstance(second, str):
            return lambda frame: first(frame) + second(frame)

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
            return builtins.each(options, value)
        return options.inverse()
    return options.fn(value)


def _js_string(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def _missing_decorator(program: Program | None) -> str | None:
    """The first decorator other than Handlebars' own ``inline`` (none are registered in Mockoon)."""
    if program is None:
        return None
    for node in program.body:
        if isinstance(node, (Decorator, DecoratorBlock)):
            head = node.call.path
            name = head.original if isinstance(head, Path) else _js_string(head.value)
            if not (isinstance(node, DecoratorBlock) and name == "inline"):
                return name
        for child in (getattr(node, "program", None), getattr(node, "inverse", None)):
            found = _missing_decorator(child)
            if found is not None:
                return found
    return None


def compile_template(source: str, helpers: dict[str, HelperSpec]) -> Renderer:
    ast = parse(source)
    decorator = _missing_decorator(ast)
    if decorator is not None:
        raise TemplateError(f'Missing decorator: "{decorator}"')
    render = Compiler(helpers).program(ast)
    assert render is not None
    return render


def _block_param_names(program: Renderer | None) -> list[str] | None:
    known = traits_of(program) if program is not None else None
    return known.block_param_names if known is not None else None
