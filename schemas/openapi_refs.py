"""Resolve a spec's ``$ref``s the way Mockoon 9.9's importer does, so the generated bodies match.

Libraries such as prance resolve references to a fixed depth or refuse cycles; Mockoon instead
expands each reference once per path from the root, replaces a reference met again inside its own
expansion by ``{}`` (which becomes an empty-string body), and reuses an expansion it has finished,
cycles included. Only references inside the document (``#/...``) are followed: nothing is fetched
(Mockoon's ``--disable-external-refs``), and other references stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .js_json import UNDEFINED, is_index_key, js_truthy


@dataclass
class RefReport:
    unresolved: list[str] = field(default_factory=list)
    circular: list[str] = field(default_factory=list)


def _pointer(root: Any, ref: str) -> Any:
    """Mockoon's fragment walk: ``#/a/b`` split on ``/`` (no ``~1`` or ``%`` decoding); None if absent."""
    fragment = ref[1:] if ref.startswith("#") else ref
    segments = (fragment[1:] if fragment.startswith("/") else fragment).split("/")
    current = root
    for segment in segments:
        if isinstance(current, dict):
            current = current.get(segment, UNDEFINED)
        elif isinstance(current, list):
            current = current[int(segment)] if is_index_key(segment) and int(segment) < len(current) else UNDEFINED
        else:
            return None
        if current is UNDEFINED:
            return None
    return current


class _Resolver:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.finished: dict[str, Any] = {}
        self.expanding: set[str] = set()
        self.ancestors: set[int] = set()
        self.report = RefReport()

    def crawl(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.crawl(item) for item in node]
        if not isinstance(node, dict):
            return node
        if id(node) in self.ancestors:  # a YAML alias inside itself
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref:
            if ref in self.finished:
                return self.finished[ref]
            if ref in self.expanding:
                if ref not in self.report.circular:
                    self.report.circular.append(ref)
                return {}
            target = _pointer(self.root, ref) if ref.startswith("#/") else None
            if not js_truthy(target):
                if ref not in self.report.unresolved:
                    self.report.unresolved.append(ref)
                return node
            self.expanding.add(ref)
            result = self.crawl(target)
            self.expanding.discard(ref)
            self.finished[ref] = result
            return result
        self.ancestors.add(id(node))
        out = {key: self.crawl(value) for key, value in node.items()}
        self.ancestors.discard(id(node))
        return out


def dereference(doc: Any) -> tuple[Any, RefReport]:
    """The document with its internal references expanded (shared, never cyclic), and what was not."""
    resolver = _Resolver(doc)
    return resolver.crawl(doc), resolver.report
