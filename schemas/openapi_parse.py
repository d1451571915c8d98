"""Read an OpenAPI/Swagger document as Mockoon does: JSON first, else YAML 1.2.

Mockoon parses YAML with the ``yaml`` package (YAML 1.2, core schema): ``yes``/``on`` and dates
stay strings, ``0o17`` is octal, ``<<`` is an ordinary key. PyYAML speaks YAML 1.1, so the loader
below is PyYAML's safe loader with the core schema's implicit types instead of 1.1's.
The structure is then checked with ``openapi-spec-validator``: its findings are warnings, since
Mockoon imports invalid specs as best it can.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from .js_json import js_json_parse, js_order

MAX_SPEC_BYTES = 50 * 1024 * 1024


class SpecError(ValueError):
    """The file is neither JSON nor YAML, or not an OpenAPI/Swagger document at all."""


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where built


class _CoreSchemaLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader resolving plain scalars with YAML 1.2's core schema."""


_CoreSchemaLoader.yaml_implicit_resolvers = {}
_RESOLVERS: list[tuple[str, str, str]] = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN\0"),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
]
for _tag, _pattern, _first in _RESOLVERS:
    _CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first.replace("\0", "")) + [""])


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int | float:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"  # type: ignore[arg-type]


_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
# timestamps and binary are YAML 1.1 types: as explicit tags they read as the plain text
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def parse_spec_text(text: str | bytes) -> Any:
    """JSON, else YAML (1.2 core schema), as JavaScript objects order keys; ``SpecError`` if neither."""
    if isinstance(text, bytes):
        if len(text) > MAX_SPEC_BYTES:
            raise SpecError(f"the file is {len(text)} bytes, larger than the {MAX_SPEC_BYTES} allowed")
        text = text.decode("utf-8", "replace")
    try:
        return js_json_parse(text)
    except (ValueError, RecursionError) as json_error:
        try:
            loaded = yaml.load(text, Loader=_CoreSchemaLoader)  # noqa: S506 - a safe loader
        except (yaml.YAMLError, RecursionError, ValueError) as yaml_error:
            raise SpecError(f"Invalid JSON or YAML format: {json_error} {yaml_error}") from None
        return js_order(loaded)


def spec_kind(doc: Any) -> str | None:
    """``"swagger"`` or ``"openapi"`` for a document Mockoon imports as such, else None."""
    if not isinstance(doc, dict):
        return None
    if "swagger" in doc:
        return "swagger"
    if "openapi" in doc:
        return "openapi"
    return None


def _external_refs(doc: Any) -> bool:
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def validation_findings(doc: Any, limit: int = 10) -> list[str]:
    """What ``openapi-spec-validator`` finds wrong with the document (at most ``limit`` findings).

    Documents with references outside themselves are not validated: the validator would fetch them."""
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import ValidatorDetectError

    if _external_refs(doc):
        return ["not validated: the document has $refs to other files or URLs"]
    try:
        validator_cls = get_validator_cls(doc)
    except (ValidatorDetectError, ValueError, TypeError) as error:
        return [f"not validated: unknown OpenAPI/Swagger version ({error or 'no version field'})"]
    from jsonschema_path import SchemaPath
    from referencing.exceptions import Unresolvable

    findings: list[str] = []
    try:
        for finding in validator_cls(SchemaPath.from_dict(doc)).iter_errors():
            path = "/".join(str(p) for p in getattr(finding, "absolute_path", ()) or ())
            message = getattr(finding, "message", None) or str(finding)
            findings.append(f"{message[:300]}" + (f" (at /{path})" if path else ""))
            if len(findings) >= limit:
                findings.append("… (more not shown)")
                break
    except Unresolvable as error:  # the validator stops at the first reference that leads nowhere
        findings.append(f"$ref leads nowhere: {str(error)[:200]}")
    except RecursionError:
        findings.append("not validated: the document nests too deeply for the validator")
    return findings
