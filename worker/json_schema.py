"""``valid_json_schema`` rules: jsonschema validation whose ``pattern`` keywords cannot hang a worker.

jsonschema matches ``pattern``, ``patternProperties`` and the pattern part of
``additionalProperties`` with Python's backtracking ``re``; a schema in a data bucket is as
much user input as a rule's regex, so those three keywords are replaced by versions that
match through ``regex_guard.safe_regex`` (RE2, bounded fallback, capped subjects). A pattern
RE2 and the fallback both refuse makes the schema invalid: the rule does not match.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from jsonschema import ValidationError
from jsonschema.exceptions import SchemaError, UnknownType
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from .templating.regex_guard import safe_regex


class UnsupportedPattern(Exception):
    """A schema pattern no engine here compiles."""


def _search(pattern: str, subject: str) -> bool:
    compiled = safe_regex(pattern)
    if compiled is None:
        raise UnsupportedPattern(pattern)
    return compiled.search(subject)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance[:100]!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, properties: dict[str, Any], instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in known and not any(_search(p, key) for p in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"additional properties are not allowed ({', '.join(map(repr, sorted(extras)))})")


@cache
def _guarded(base: type[Validator]) -> type[Validator]:
    """``base`` (the validator class for the schema's draft) with the pattern keywords replaced."""
    replaced = {"pattern": _pattern, "patternProperties": _pattern_properties,
                "additionalProperties": _additional_properties}
    keywords = {name: function for name, function in replaced.items() if name in base.VALIDATORS}
    return jsonschema.validators.extend(base, keywords)  # type: ignore[arg-type]


def matches_schema(value: Any, schema: dict[str, Any] | bool) -> bool:
    """Whether ``value`` (plain JSON data) is valid against ``schema``; an invalid schema matches nothing."""
    base = jsonschema.validators.validator_for(schema)
    try:
        base.check_schema(schema)
        return bool(_guarded(base)(schema).is_valid(value))
    except (SchemaError, UnsupportedPattern, Unresolvable, UnknownType, RecursionError):
        return False
