"""Whitespace control, as Handlebars' ``WhitespaceControl`` visitor applies it after parsing.

``~`` in a tag strips all whitespace on that side; a block tag, ``{{else}}``, a comment or a
partial alone on its line ("standalone") takes that line's indentation and line break with
it, so templates can lay block tags out on their own lines without leaving blank lines.
"""

from __future__ import annotations

import re
from typing import Any

from .syntax_tree import (
    Block,
    Comment,
    Content,
    Decorator,
    DecoratorBlock,
    Mustache,
    Partial,
    PartialBlock,
    Program,
)

_S = "[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"  # JavaScript's \s
_PREV_WS_NESTED = re.compile(rf"\r?\n{_S}*?\Z")
_PREV_WS_ROOT = re.compile(rf"(?:^|\r?\n){_S}*?\Z")
_NEXT_WS_NESTED = re.compile(rf"^{_S}*?\r?\n")
_NEXT_WS_ROOT = re.compile(rf"^{_S}*?(?:\r?\n|\Z)")
_LEADING_WS = re.compile(rf"^{_S}+")
_TRAILING_WS = re.compile(rf"{_S}+\Z")
_FIRST_LINE_BREAK = re.compile(r"^[ \t]*\r?\n?")
_TRAILING_BLANKS = re.compile(r"[ \t]+\Z")

# what a statement tells its program: (open ~, close ~, open standalone, close standalone, inline standalone)
_StripInfo = tuple[bool, bool, bool, bool, bool]


def strip_whitespace(root: Program) -> None:
    _strip_program(root, is_root=True)


def _is_prev_ws(body: list[Any], i: int | None, is_root: bool) -> bool:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i - 1 >= 0 else None
    sibling = body[i - 2] if i - 2 >= 0 else None
    if prev is None:
        return is_root
    if isinstance(prev, Content):
        pattern = _PREV_WS_NESTED if (sibling is not None or not is_root) else _PREV_WS_ROOT
        return pattern.search(prev.original) is not None
    return False


def _is_next_ws(body: list[Any], i: int | None, is_root: bool) -> bool:
    if i is None:
        i = -1
    nxt = body[i + 1] if i + 1 < len(body) else None
    sibling = body[i + 2] if i + 2 < len(body) else None
    if nxt is None:
        return is_root
    if isinstance(nxt, Content):
        pattern = _NEXT_WS_NESTED if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return pattern.search(nxt.original) is not None
    return False


def _omit_right(body: list[Any], i: int | None, multiple: bool = False) -> None:
    index = 0 if i is None else i + 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.right_stripped):
        return
    original = current.value
    current.value = (_LEADING_WS if multiple else _FIRST_LINE_BREAK).sub("", original, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: list[Any], i: int | None, multiple: bool = False) -> bool:
    index = len(body) - 1 if i is None else i - 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = (_TRAILING_WS if multiple else _TRAILING_BLANKS).sub("", original, count=1)
    current.left_stripped = current.value != original
    return current.left_stripped


def _strip_program(program: Program, is_root: bool = False) -> None:
    body = program.body
    for i, node in enumerate(body):
        info = _strip_info(node)
        if info is None:
            continue
        open_, close, open_sa, close_sa, inline_sa = info
        prev_ws = _is_prev_ws(body, i, is_root)
        next_ws = _is_next_ws(body, i, is_root)
        if close:
            _omit_right(body, i, True)
        if open_:
            _omit_left(body, i, True)
        if inline_sa and prev_ws and next_ws:
            _omit_right(body, i)
            if _omit_left(body, i) and isinstance(node, Partial):
                indent = re.search(r"[ \t]+\Z", body[i - 1].original)
                node.indent = indent.group() if indent else ""
        if open_sa and prev_ws:
            _omit_right((node.program or node.inverse).body, None)
            _omit_left(body, i)
        if close_sa and next_ws:
            _omit_right(body, i)
            _omit_left((getattr(node, "inverse", None) or node.program).body, None)


def _strip_info(node: Any) -> _StripInfo | None:
    if isinstance(node, (Mustache, Decorator)):
        return node.strip.open, node.strip.close, False, False, False
    if isinstance(node, (Comment, Partial)):
        return node.strip.open, node.strip.close, False, False, True
    if isinstance(node, Block):
        return _strip_block(node.program, node.inverse, node)
    if isinstance(node, (PartialBlock, DecoratorBlock)):
        return _strip_block(node.program, None, node)
    return None


def _strip_block(block_program: Program | None, block_inverse: Program | None, block: Any) -> _StripInfo:
    if block_program is not None:
        _strip_program(block_program)
    if block_inverse is not None:
        _strip_program(block_inverse)
    program = block_program or block_inverse
    assert program is not None
    inverse = block_inverse if block_program is not None else None
    first_inverse = last_inverse = inverse
    if inverse is not None and inverse.chained:
        first_inverse = inverse.body[0].program
        last = inverse
        while last.chained:
            last = last.body[-1].program
        last_inverse = last
    open_strip, close_strip = block.open_strip, block.close_strip
    result = (
        open_strip.open,
        close_strip.close,
        _is_next_ws(program.body, None, False),
        _is_prev_ws((first_inverse or program).body, None, False),
        False,
    )
    if open_strip.close:
        _omit_right(program.body, None, True)
    if inverse is not None and first_inverse is not None and last_inverse is not None:
        inverse_strip = block.inverse_strip
        if inverse_strip.open:
            _omit_left(program.body, None, True)
        if inverse_strip.close:
            _omit_right(first_inverse.body, None, True)
        if close_strip.open:
            _omit_left(last_inverse.body, None, True)
        if _is_prev_ws(program.body, None, False) and _is_next_ws(first_inverse.body, None, False):
            _omit_left(program.body, None)
            _omit_right(first_inverse.body, None)
    elif close_strip.open:
        _omit_left(program.body, None, True)
    return result
