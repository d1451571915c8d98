"""The ``valid_json_schema`` rule operator, answering as Mockoon's Ajv 8 call does.

Mockoon runs ``new Ajv()`` with ajv-formats and ``ajv.compile(schema)(value)``, and any error
means "no match".  So a schema Ajv refuses to compile never matches: one that the draft-07
meta-schema rejects, one with a keyword or format Ajv does not know (strict mode), a ``$schema``
other than draft-07, a ``pattern`` that is no valid ``u``-flag RegExp, a ``$ref`` that leads
nowhere, ``if`` without ``then``/``else``...  Like Ajv, only the parts of a schema that get
compiled are held to the strict rules: a definition nobody references, or the other branches of
an ``anyOf`` that has an always-valid branch, are not looked at.

Validation itself is jsonschema's draft-07 machinery with JavaScript's meaning where it differs
from Python's: ``pattern`` is a JS RegExp (searched, guarded, see ``js_regex``), ``1.0`` is an
integer and ``true`` is no number, ``enum``/``const``/``uniqueItems`` compare as Ajv's deep
equality, ``multipleOf`` divides as Ajv does, ``$ref`` does not hide its sibling keywords,
``nullable`` is Ajv's OpenAPI keyword, and formats are ajv-formats' "full" set.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from jsonschema import Draft7Validator, FormatChecker, ValidationError, validators
from jsonschema import _keywords as jsonschema_keywords
from referencing import Registry
from referencing.jsonschema import DRAFT7

from .js_regex import JsRegexError, compile_js_pattern
from .json_schema_formats import COMPARE, FORMATS

CACHE_SIZE = 256
DRAFT7_URI = "http://json-schema.org/draft-07/schema"
ACCEPTED_SCHEMA_URIS = frozenset({
    DRAFT7_URI, DRAFT7_URI + "#", "http://json-schema.org/schema", "http://json-schema.org/schema#",
})
# every keyword a default Ajv 8 instance with ajv-formats knows
KNOWN_KEYWORDS = frozenset((
    "$async $schema $id $defs $vocabulary $comment definitions id $ref maximum minimum "
    "exclusiveMaximum exclusiveMinimum multipleOf maxLength minLength pattern maxProperties "
    "minProperties required maxItems minItems uniqueItems type nullable const enum not anyOf "
    "oneOf allOf if then else propertyNames additionalProperties dependencies properties "
    "patternProperties additionalItems items contains format title description default "
    "deprecated readOnly writeOnly examples contentMediaType contentEncoding contentSchema "
    "formatMaximum formatMinimum formatExclusiveMaximum formatExclusiveMinimum"
).split())
# keywords that validate nothing: a schema holding only these is "always valid" to Ajv
ANNOTATIONS = frozenset((
    "$schema $id $defs $vocabulary definitions title description default deprecated readOnly "
    "writeOnly examples contentMediaType contentEncoding contentSchema"
).split())
FORMAT_LIMITS = ("formatMaximum", "formatMinimum", "formatExclusiveMaximum", "formatExclusiveMinimum")
MAX_SAFE = 2**53

# Ajv's copy of the draft-07 meta-schema also wants "enum" non-empty and without duplicates
META_SCHEMA = copy.deepcopy(Draft7Validator.META_SCHEMA)
META_SCHEMA["properties"]["enum"].update({"minItems": 1, "uniqueItems": True})


class Refused(Exception):
    """Ajv's compile would throw."""


# -- JavaScript values ------------------------------------------------------------------------

def js_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def js_equal(a: Any, b: Any) -> bool:
    """fast-deep-equal on JSON values: numbers by value, objects ignoring key order."""
    if js_number(a) and js_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(js_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(js_equal(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _as_js_scalar(value: Any) -> Any:
    if value.__class__ is int and abs(value) > MAX_SAFE:
        return float(value)
    return value


def as_js(value: Any) -> Any:
    """A JSON value as JavaScript holds it: integers past 2**53 become doubles. Iterative, so a
    body nested as deep as Python's parser allows is converted without a RecursionError."""
    if not isinstance(value, (list, dict)):
        return _as_js_scalar(value)
    root: Any = [] if isinstance(value, list) else {}
    pending: list[tuple[Any, Any]] = [(value, root)]
    while pending:
        source, target = pending.pop()
        items = enumerate(source) if isinstance(source, list) else source.items()
        for key, item in items:
            if isinstance(item, (list, dict)):
                copy: Any = [] if isinstance(item, list) else {}
                pending.append((item, copy))
            else:
                copy = _as_js_scalar(item)
            if isinstance(target, list):
                target.append(copy)
            else:
                target[str(key)] = copy
    return root


# -- keyword implementations ------------------------------------------------------------------

def _finite_number(x: Any) -> bool:
    return js_number(x) and math.isfinite(x)


def _type_checker() -> Any:
    def is_number(_: Any, x: Any) -> bool:
        return _finite_number(x)

    def is_integer(_: Any, x: Any) -> bool:
        return _finite_number(x) and (isinstance(x, int) or float(x).is_integer())

    return Draft7Validator.TYPE_CHECKER.redefine_many({"number": is_number, "integer": is_integer})


def _type(validator: Any, types: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    names = [types] if isinstance(types, str) else list(types)
    if schema.get("nullable") is True:
        names.append("null")
    if not any(validator.is_type(instance, t) for t in names):
        yield ValidationError(f"{instance!r} is not of type {types!r}")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not compile_js_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for pattern, subschema in patterns.items():
        if _always_valid(subschema):
            continue
        matcher = compile_js_pattern(pattern)
        for key, value in instance.items():
            if matcher.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any,
                           schema: Any) -> Iterator[ValidationError]:
    if not isinstance(instance, dict) or _always_valid(additional):
        return
    known = schema.get("properties", {})
    matchers = [compile_js_pattern(p) for p in schema.get("patternProperties", {})]
    for key, value in instance.items():
        if key in known or any(m.search(key) for m in matchers):
            continue
        if additional is False:
            yield ValidationError(f"additional property {key!r}")
        else:
            yield from validator.descend(value, additional, path=key)


def _multiple_of(validator: Any, divisor: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not _finite_number(instance):
        return
    quotient = float(instance) / float(divisor)
    # Ajv: quotient !== parseInt(quotient), and parseInt reads 1e+21 as 1
    if not (math.isfinite(quotient) and quotient.is_integer() and abs(quotient) < 1e21):
        yield ValidationError(f"{instance!r} is not a multiple of {divisor!r}")


def _number_limit(check: Any) -> Any:
    def keyword(validator: Any, limit: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if _finite_number(instance) and not check(instance, limit):
            yield ValidationError(f"{instance!r} is out of range {limit!r}")
    return keyword


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if unique and isinstance(instance, list):
        for i, a in enumerate(instance):
            if any(js_equal(a, b) for b in instance[:i]):
                yield ValidationError("items are not unique")
                return


def _const(validator: Any, const: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not js_equal(instance, const):
        yield ValidationError(f"{const!r} was expected")


def _enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not any(js_equal(instance, e) for e in enums):
        yield ValidationError(f"{instance!r} is not one of {enums!r}")


def _format_limit(keyword: str) -> Any:
    def check(validator: Any, limit: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if not isinstance(instance, str):
            return
        result = COMPARE[schema["format"]](instance, limit)
        # ajv-formats fails only on a comparison that holds: no answer (undefined) passes
        failed = result is not None and {
            "formatMaximum": result > 0, "formatMinimum": result < 0,
            "formatExclusiveMaximum": result >= 0, "formatExclusiveMinimum": result <= 0,
        }[keyword]
        if failed:
            yield ValidationError(f"{instance!r} fails {keyword}")
    return check


def _ignore(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    return iter(())


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker


FORMAT_CHECKER = _format_checker()

_KEYWORDS = dict(Draft7Validator.VALIDATORS)
_KEYWORDS.update({
    "type": _type,
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "multipleOf": _multiple_of,
    "maximum": _number_limit(lambda x, lim: x <= lim),
    "minimum": _number_limit(lambda x, lim: x >= lim),
    "exclusiveMaximum": _number_limit(lambda x, lim: x < lim),
    "exclusiveMinimum": _number_limit(lambda x, lim: x > lim),
    "uniqueItems": _unique_items,
    "const": _const,
    "enum": _enum,
    "nullable": _ignore,
    "$async": _ignore,
    **{k: _format_limit(k) for k in FORMAT_LIMITS},
})
_KEYWORDS.pop("$ref")
_KEYWORDS["$ref"] = jsonschema_keywords.ref

AjvDraft7 = validators.create(
    meta_schema=META_SCHEMA,
    validators=_KEYWORDS,
    type_checker=_type_checker(),
    format_checker=FORMAT_CHECKER,
    id_of=DRAFT7.id_of,
    applicable_validators=lambda schema: schema.items(),  # $ref keeps its siblings, as in Ajv
)

_REGISTRY: Registry[Any] = Registry().with_resource(DRAFT7_URI, DRAFT7.create_resource(Draft7Validator.META_SCHEMA))
_META_VALIDATOR = AjvDraft7(META_SCHEMA, format_checker=None, registry=_REGISTRY)


# -- what Ajv's compile refuses ---------------------------------------------------------------

def _always_valid(schema: Any) -> bool:
    """Ajv's alwaysValidSchema: true, {}, or only annotations (unknown keywords refused)."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        return False
    _check_keywords(schema)
    return all(k in ANNOTATIONS for k in schema)


def _check_keywords(schema: dict[str, Any]) -> None:
    for key in schema:
        if key not in KNOWN_KEYWORDS or key == "id":
            raise Refused(f"unknown keyword {key!r}")


class _Strict:
    """Walks the parts of a schema Ajv compiles and refuses what its compile throws on."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.ids: dict[str, Any] = {}
        self.seen: set[int] = set()
        base = root.get("$id", "") if isinstance(root, dict) and isinstance(root.get("$id"), str) else ""
        self._index(root, base)

    def _index(self, node: Any, base: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                base = urljoin(base, node["$id"])
                self.ids.setdefault(base.rstrip("#") if base.endswith("#") else base, node)
            for key, child in node.items():
                if key not in ("enum", "const", "default", "examples"):
                    self._index(child, base)
        elif isinstance(node, list):
            for child in node:
                self._index(child, base)

    def resolve(self, ref: str, base: str) -> tuple[Any, str] | None:
        target = urljoin(base, ref)
        doc_uri, fragment = urldefrag(target)
        if doc_uri.rstrip("#") in (DRAFT7_URI, "http://json-schema.org/schema"):
            return None  # Ajv holds the meta-schema; nothing of the tenant's to check there
        if fragment and not fragment.startswith("/"):
            node = self.ids.get(f"{doc_uri}#{fragment}")
            if node is None:
                raise Refused(f"can't resolve {ref}")
            return node, doc_uri
        doc = self.ids.get(doc_uri) if doc_uri else self.root
        if doc is None and doc_uri == self._root_base():
            doc = self.root
        if doc is None:
            raise Refused(f"can't resolve {ref}")
        node = doc
        for token in fragment.split("/")[1:]:
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise Refused(f"can't resolve {ref}")
        if not isinstance(node, (dict, bool)):
            raise Refused(f"{ref} is no schema")
        return node, doc_uri

    def _root_base(self) -> str:
        root_id = self.root.get("$id") if isinstance(self.root, dict) else None
        return urldefrag(root_id)[0] if isinstance(root_id, str) else ""

    def walk(self, schema: Any, base: str) -> None:
        if isinstance(schema, bool) or id(schema) in self.seen:
            return
        if not isinstance(schema, dict):
            raise Refused("schema must be an object or a boolean")
        self.seen.add(id(schema))
        if isinstance(schema.get("$id"), str):
            base = urljoin(base, schema["$id"])
        _check_keywords(schema)
        if "nullable" in schema:
            if not isinstance(schema["nullable"], bool):
                raise Refused("nullable value must be boolean")
            if "type" not in schema:
                raise Refused('"nullable" cannot be used without "type"')
        if "if" in schema and "then" not in schema and "else" not in schema:
            raise Refused('"if" without "then" and "else" is ignored')
        for key in ("then", "else"):
            if key in schema and "if" not in schema:
                raise Refused(f'"{key}" without "if" is ignored')
        if "additionalItems" in schema and not isinstance(schema.get("items"), list):
            raise Refused('"additionalItems" is ignored when "items" is not an array of schemas')
        if "format" in schema and schema["format"] not in FORMATS:
            raise Refused(f"unknown format {schema['format']!r}")
        for key in FORMAT_LIMITS:
            if key in schema:
                if "format" not in schema:
                    raise Refused(f"{key} needs format")
                if schema["format"] not in COMPARE:
                    raise Refused(f"format {schema['format']!r} does not define compare")
                if not isinstance(schema[key], str):
                    raise Refused(f"{key} value must be a string")
        if "pattern" in schema:
            compile_js_pattern(schema["pattern"])
        patterns = schema.get("patternProperties", {})
        every_pattern = "additionalProperties" in schema and not _always_valid(schema["additionalProperties"])
        for pattern, sub in patterns.items():
            if every_pattern or not _always_valid(sub):
                compile_js_pattern(pattern)
        if isinstance(schema.get("$ref"), str):
            found = self.resolve(schema["$ref"], base)
            if found is not None:
                self.walk(found[0], found[1])
        for sub in self._compiled_children(schema):
            self.walk(sub, base)

    def _compiled_children(self, schema: dict[str, Any]) -> Iterator[Any]:
        for key in ("properties", "patternProperties"):
            for sub in schema.get(key, {}).values():
                if not _always_valid(sub):
                    yield sub
        for key in ("additionalProperties", "additionalItems", "contains", "propertyNames", "not"):
            if key in schema:
                yield schema[key]
        items = schema.get("items")
        if isinstance(items, list):
            yield from items
        elif items is not None:
            yield items
        yield from schema.get("allOf", [])
        yield from schema.get("oneOf", [])
        any_of = schema.get("anyOf", [])
        if not any(_always_valid(sub) for sub in any_of):  # stops at the first, as Ajv's some()
            yield from any_of
        for sub in schema.get("dependencies", {}).values():
            if not isinstance(sub, list):
                yield sub
        branches = [schema[k] for k in ("then", "else") if k in schema and not _always_valid(schema[k])]
        if "if" in schema and branches:
            yield schema["if"]
            yield from branches


def _refusal(schema: Any) -> str | None:
    """Why Ajv's compile would throw on schema, or None when it compiles."""
    try:
        if isinstance(schema, dict) and "$schema" in schema and schema["$schema"] not in ACCEPTED_SCHEMA_URIS:
            return f"no schema with key or ref {schema['$schema']!r}"
        error = next(iter(_META_VALIDATOR.iter_errors(schema)), None)
        if error is not None:
            return f"schema is invalid: {error.message}"
        strict = _Strict(schema)
        strict.walk(schema, strict._root_base())
    except Refused as e:
        return str(e)
    except JsRegexError as e:
        return f"Invalid regular expression: {e}"
    except RecursionError:
        return "schema too deep"
    except Exception as e:  # noqa: BLE001 - e.g. a repetition count the regex engine refuses
        return f"not compiled here: {e}"
    return None


@dataclass(frozen=True)
class _Compiled:
    validator: Any | None  # None: Ajv refuses the schema
    is_async: bool


@lru_cache(maxsize=CACHE_SIZE)
def _compile(schema_text: str) -> _Compiled:
    schema = as_js(json.loads(schema_text))
    if _refusal(schema) is not None:
        return _Compiled(None, False)
    is_async = isinstance(schema, dict) and schema.get("$async") is True
    return _Compiled(AjvDraft7(schema, registry=_REGISTRY, format_checker=FORMAT_CHECKER), is_async)


def refusal(schema: Any) -> str | None:
    """Why Ajv would not compile schema (for tests and diagnostics), None when it would."""
    return _refusal(as_js(json.loads(json.dumps(schema))))


def matches_schema(value: Any, schema: Any) -> bool:
    """Whether ``ajv.compile(schema)(value)`` (Ajv 8, ajv-formats) is truthy, errors being False."""
    try:
        schema_text = json.dumps(schema, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return False
    compiled = _compile(schema_text)
    if compiled.validator is None:
        return False
    if compiled.is_async:
        return True  # Ajv hands back a Promise, which a rule takes for a match
    try:
        instance = as_js(json.loads(json.dumps(value, default=lambda _: None)))
    except (RecursionError, ValueError):  # deeper than Python's JSON codec goes, or circular
        return False
    try:
        return next(iter(compiled.validator.iter_errors(instance)), None) is None
    except RecursionError:
        return False
    except Exception:  # noqa: BLE001 - an unresolvable reference or the like: Ajv would have thrown
        return False
