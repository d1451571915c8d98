"""An LALR(1) table generator for a small context-free grammar.

``build_tables`` takes numbered productions (production 0 is ``$accept -> start $end``) and
returns, per state, its actions on terminals and its gotos on nonterminals, the way Jison
lays its tables out: a shift, a reduce or accept per terminal, and a state's *default
action* when its only entry (actions and gotos together) is one reduce; the parser then
reduces without reading the next token.

The lookaheads come from the LR(0) automaton by the classic spontaneous-generation /
propagation method (Aho, Sethi, Ullman, 4.7.5): each kernel item's closure is taken with a
dummy lookahead, what reaches a successor item untouched propagates, anything else is
generated there; propagation then runs to a fixed point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SHIFT, REDUCE, ACCEPT = 1, 2, 3

Item = tuple[int, int]  # (production index, dot position)


@dataclass(slots=True)
class Tables:
    actions: list[dict[int, tuple[int, int]]]  # state -> terminal -> (SHIFT, state) | (REDUCE, production) | (ACCEPT, 0)
    gotos: list[dict[int, int]]  # state -> nonterminal -> state
    defaults: dict[int, int]  # state -> production it reduces without a lookahead
    conflicts: list[str]


class GrammarError(Exception):
    pass


def build_tables(productions: Sequence[tuple[int, tuple[int, ...]]], end: int) -> Tables:
    """``productions[p] = (lhs, rhs)`` over symbol numbers; symbols with productions are the
    nonterminals, every other symbol is a terminal; ``end`` is the end-of-input terminal."""
    by_lhs: dict[int, list[int]] = {}
    for index, (lhs, _) in enumerate(productions):
        by_lhs.setdefault(lhs, []).append(index)
    nonterminals = set(by_lhs)

    nullable: set[int] = set()
    changed = True
    while changed:
        changed = False
        for lhs, rhs in productions:
            if lhs not in nullable and all(s in nullable for s in rhs):
                nullable.add(lhs)
                changed = True

    first: dict[int, set[int]] = {n: set() for n in nonterminals}
    changed = True
    while changed:
        changed = False
        for lhs, rhs in productions:
            target = first[lhs]
            before = len(target)
            for symbol in rhs:
                if symbol in nonterminals:
                    target |= first[symbol]
                    if symbol not in nullable:
                        break
                else:
                    target.add(symbol)
                    break
            changed |= len(target) != before

    def first_of(sequence: Sequence[int], lookahead: int) -> set[int]:
        out: set[int] = set()
        for symbol in sequence:
            if symbol in nonterminals:
                out |= first[symbol]
                if symbol not in nullable:
                    return out
            else:
                out.add(symbol)
                return out
        out.add(lookahead)
        return out

    def closure0(kernel: frozenset[Item]) -> set[Item]:
        items = set(kernel)
        todo = list(kernel)
        while todo:
            prod, dot = todo.pop()
            rhs = productions[prod][1]
            if dot < len(rhs) and rhs[dot] in nonterminals:
                for p in by_lhs[rhs[dot]]:
                    if (p, 0) not in items:
                        items.add((p, 0))
                        todo.append((p, 0))
        return items

    # LR(0) automaton
    start: frozenset[Item] = frozenset({(0, 0)})
    kernels: list[frozenset[Item]] = [start]
    index_of: dict[frozenset[Item], int] = {start: 0}
    transitions: list[dict[int, int]] = []
    i = 0
    while i < len(kernels):
        items = closure0(kernels[i])
        moves: dict[int, set[Item]] = {}
        for prod, dot in sorted(items):
            rhs = productions[prod][1]
            if dot < len(rhs) and not (prod == 0 and rhs[dot] == end):  # $end is accepted, not shifted
                moves.setdefault(rhs[dot], set()).add((prod, dot + 1))
        row: dict[int, int] = {}
        for symbol, moved in moves.items():
            kernel = frozenset(moved)
            number = index_of.get(kernel)
            if number is None:
                number = index_of[kernel] = len(kernels)
                kernels.append(kernel)
            row[symbol] = number
        transitions.append(row)
        i += 1

    # lookaheads of kernel items: spontaneous ones and propagation links
    dummy = -1
    lookaheads: dict[tuple[int, Item], set[int]] = {(s, item): set() for s, k in enumerate(kernels) for item in k}
    lookaheads[(0, (0, 0))].add(end)
    links: dict[tuple[int, Item], list[tuple[int, Item]]] = {}
    closure_of: dict[Item, set[tuple[Item, int]]] = {}  # an item's LR(1) closure with the dummy lookahead
    for kernel in kernels:
        for kernel_item in kernel:
            if kernel_item not in closure_of:
                closure_of[kernel_item] = _closure1(kernel_item, dummy, productions, by_lhs, nonterminals, first_of)
    for state, kernel in enumerate(kernels):
        for kernel_item in kernel:
            for (prod, dot), lookahead in closure_of[kernel_item]:
                rhs = productions[prod][1]
                if dot == len(rhs) or (prod == 0 and rhs[dot] == end):
                    continue
                successor = (transitions[state][rhs[dot]], (prod, dot + 1))
                if lookahead == dummy:
                    links.setdefault((state, kernel_item), []).append(successor)
                else:
                    lookaheads[successor].add(lookahead)
    changed = True
    while changed:
        changed = False
        for source, successors in links.items():
            found = lookaheads[source]
            for successor in successors:
                known = lookaheads[successor]
                if not found <= known:
                    known |= found
                    changed = True

    # tables
    actions: list[dict[int, tuple[int, int]]] = []
    gotos: list[dict[int, int]] = []
    conflicts: list[str] = []
    for state, kernel in enumerate(kernels):
        row_actions: dict[int, tuple[int, int]] = {}
        row_gotos: dict[int, int] = {}
        for symbol, number in transitions[state].items():
            if symbol in nonterminals:
                row_gotos[symbol] = number
            else:
                row_actions[symbol] = (SHIFT, number)
        if (0, 1) in kernel:
            row_actions[end] = (ACCEPT, 0)
        # a reduce item's lookaheads: generated in its closure plus its kernel item's own set
        for kernel_item in kernel:
            for item, lookahead in closure_of[kernel_item]:
                if item[1] != len(productions[item[0]][1]):
                    continue
                followers = lookaheads[(state, kernel_item)] if lookahead == dummy else {lookahead}
                for terminal in followers:
                    existing = row_actions.get(terminal)
                    if existing is None or existing == (REDUCE, item[0]):
                        row_actions[terminal] = (REDUCE, item[0])
                    elif existing[0] == SHIFT:
                        conflicts.append(f"state {state}: shift/reduce on {terminal} (production {item[0]})")
                    else:
                        conflicts.append(f"state {state}: reduce/reduce on {terminal} ({existing[1]}, {item[0]})")
                        row_actions[terminal] = (REDUCE, min(existing[1], item[0]))
        actions.append(row_actions)
        gotos.append(row_gotos)
    defaults = {state: row[next(iter(row))][1] for state, row in enumerate(actions)
                if len(row) == 1 and not gotos[state] and next(iter(row.values()))[0] == REDUCE}
    return Tables(actions, gotos, defaults, conflicts)


def _closure1(item: Item, lookahead: int, productions: Sequence[tuple[int, tuple[int, ...]]],
              by_lhs: dict[int, list[int]], nonterminals: set[int],
              first_of: object) -> set[tuple[Item, int]]:
    """The LR(1) closure of one item with one lookahead."""
    assert callable(first_of)
    out = {(item, lookahead)}
    todo = [(item, lookahead)]
    while todo:
        (prod, dot), la = todo.pop()
        rhs = productions[prod][1]
        if dot < len(rhs) and rhs[dot] in nonterminals:
            for follower in first_of(rhs[dot + 1:], la):
                for p in by_lhs[rhs[dot]]:
                    entry = ((p, 0), follower)
                    if entry not in out:
                        out.add(entry)
                        todo.append(entry)
    return out
