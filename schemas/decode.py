"""Decode untrusted bytes into a migrated ``Environment``, failing with a JSON path.

This is the one boundary where environments are validated; code past it trusts the types.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .environment import HIGHEST_MIGRATION, Environment
from .errors import NeedsRepair, SchemaError
from .migrations import MigrationReport, migrate
from .repair import repair_environment

MAX_ENVIRONMENT_BYTES = 20 * 1024 * 1024
# Mockoon's own structure nests about 8 levels; copying, migrating and converting recurse once
# per level, and Python's stack ends near 1,000 (a RecursionError, then a 500)
MAX_ENVIRONMENT_DEPTH = 64

_MSGSPEC_ERROR = re.compile(r"^(?P<reason>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)


def schema_error_from_msgspec(error: msgspec.ValidationError | msgspec.DecodeError) -> SchemaError:
    """Turn msgspec's "Expected `int`, got `str` - at `$.x`" into ``$.x: expected int, got str``."""
    match = _MSGSPEC_ERROR.match(str(error))
    assert match is not None
    reason = match.group("reason").replace("`", "")
    reason = reason[:1].lower() + reason[1:]
    return SchemaError(match.group("path") or "$", reason)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "str", int: "int", float: "float", bool: "bool"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def too_deep(limit: int = MAX_ENVIRONMENT_DEPTH) -> SchemaError:
    return SchemaError("$", f"nested deeper than the {limit} levels allowed")


def check_depth(obj: Any, limit: int = MAX_ENVIRONMENT_DEPTH) -> None:
    """``SchemaError`` naming the limit and where it is passed when ``obj`` nests more than
    ``limit`` arrays and objects deep; walks with a stack of its own, so any depth is safe."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(obj, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            children: Any = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth > limit:
            where = "$" + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)
            raise SchemaError(where, f"nested deeper than the {limit} levels allowed")
        stack.extend((child, depth + 1, (*path, key)) for key, child in children)


def load_json(data: bytes | str, limit: int = MAX_ENVIRONMENT_BYTES) -> Any:
    """Parse JSON with a size ceiling so a hostile upload fails fast, and a depth ceiling."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise SchemaError("$", f"environment is {len(data)} bytes, larger than the {limit} bytes allowed")
    try:
        obj = msgspec.json.decode(data)
    except msgspec.DecodeError as error:
        raise SchemaError("$", f"not valid JSON ({error})") from None
    except RecursionError:  # msgspec recurses once per level: far past the limit
        raise too_deep() from None
    check_depth(obj)
    return obj


def environment_from_obj(
    obj: Any, highest: int = HIGHEST_MIGRATION, *, strict: bool = False
) -> tuple[Environment, MigrationReport]:
    """Migrate a parsed JSON value to ``highest``, repair it as Mockoon does and convert it to Structs.

    The repairs are in ``report.repairs``; with ``strict`` any repair raises ``NeedsRepair``.
    Only what Mockoon cannot load either is refused: not an object, an OpenAPI document,
    no sign of an environment, a schema newer than ``highest``."""
    check_depth(obj)
    if not isinstance(obj, dict):
        raise SchemaError("$", f"expected a Mockoon environment object, got {_type_name(obj)}")
    if "openapi" in obj or "swagger" in obj:
        raise SchemaError("$", "this is an OpenAPI document, not a Mockoon environment (convert it first: `mockfleet import SPEC -o ENV.json`)")
    if "routes" not in obj and "lastMigration" not in obj:
        raise SchemaError("$", "not a Mockoon environment: no routes and no lastMigration")
    report = migrate(obj, highest)
    repaired, repairs = repair_environment(obj, highest)
    report.repairs.extend(repairs)
    # like the app's cleanDisabledRoutes/cleanCollapsedFolders: forget what the repair renamed away
    routes = {route["uuid"] for route in repaired["routes"]}
    folders = {folder["uuid"] for folder in repaired["folders"]}
    report.disabled_routes = [uuid for uuid in report.disabled_routes if uuid in routes]
    report.collapsed_folders = [uuid for uuid in report.collapsed_folders if uuid in folders]
    if strict and report.repairs:
        raise NeedsRepair(report.repairs)
    try:
        env = msgspec.convert(repaired, Environment)
    except msgspec.ValidationError as error:  # the repair guarantees the shape; this is our bug
        raise schema_error_from_msgspec(error) from None
    return env, report


def decode_environment(
    data: bytes | str, highest: int = HIGHEST_MIGRATION, *, strict: bool = False
) -> tuple[Environment, MigrationReport]:
    """Bytes in, a current-schema ``Environment`` out (repaired unless ``strict``), or one ``SchemaError``."""
    return environment_from_obj(load_json(data), highest, strict=strict)


def encode_environment(env: Environment) -> bytes:
    """JSON the Mockoon app opens (pretty, two-space indent like Mockoon's own files)."""
    return msgspec.json.format(msgspec.json.encode(env), indent=2)
