"""Repair a migrated environment the way Mockoon's loader does, and say what was repaired.

Mockoon (CLI, desktop app, admin API) never refuses an environment object for a bad field:
its schema replaces a missing or invalid value with the default (Joi ``failover``), drops
array items that cannot be repaired, then fixes folder and ``rootChildren`` references
(``repairRefs``). We do the same as pure functions over the parsed JSON, and return one
``Repair`` per change so ``serve`` and a deploy can warn and ``validate`` can refuse.

The rules are tables (``_ENVIRONMENT`` and friends) read by one small interpreter.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

RepairCode = Literal["REPAIR_DEFAULT", "REPAIR_DROP", "REPAIR_ATTACH", "REPAIR_MIGRATION", "REPAIR_ROUND"]


class Repair(msgspec.Struct, frozen=True, kw_only=True):
    """One change made so the environment can be served; ``path`` names the value in the input."""

    code: RepairCode
    path: str
    message: str


# --- value checks: each returns (ok, value to keep) -------------------------------------

Check = Callable[[Any], tuple[bool, Any]]

# Joi's number coercion accepts decimal strings ("200", " 1.5 ", "1e3").
_NUMERIC = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")
_MAX_SAFE = 2**53 - 1
# Joi's ``string().uuid()`` with no options: any version digit, optional separators and brackets.
_UUID = re.compile(r"^([\[{(]?)[0-9a-f]{8}([:-]?)[0-9a-f]{4}\2?[0-9a-f]{4}\2?[0-9a-f]{4}\2?[0-9a-f]{12}([\]})]?)$", re.I)
_BRACKETS = {"": "", "[": "]", "{": "}", "(": ")"}


def as_number(value: Any) -> float | int | None:
    """The number Joi's ``number()`` would accept for ``value`` (converting decimal strings), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _NUMERIC.match(value):
        value = float(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) > _MAX_SAFE:
        return None  # Joi: number.unsafe
    return value


def _string(allow_empty: bool = True) -> Check:
    return lambda v: (isinstance(v, str) and (allow_empty or v != ""), v)


def _boolean(v: Any) -> tuple[bool, Any]:
    return isinstance(v, bool), v  # Joi boolean().strict(): "true" is not a boolean


def _number(low: float | None = None, high: float | None = None) -> Check:
    def check(v: Any) -> tuple[bool, Any]:
        n = as_number(v)
        ok = n is not None and (low is None or n >= low) and (high is None or n <= high)
        return ok, n

    return check


def _one_of(*allowed: str | None) -> Check:
    values = frozenset(allowed)
    return lambda v: ((isinstance(v, str) or v is None) and v in values, v)


def _uuid(v: Any) -> tuple[bool, Any]:
    match = _UUID.match(v) if isinstance(v, str) else None
    return match is not None and _BRACKETS.get(match.group(1)) == match.group(3), v


def _new_uuid() -> str:
    return str(uuid.uuid4())


def _short_id() -> str:
    """Mockoon's ``GenerateUniqueID``: four base-36 characters."""
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(4))


# --- the schema as tables --------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    check: Check
    default: Callable[[], Any]
    expected: str  # for the warning: "is not <expected>"


@dataclass(frozen=True)
class Obj:
    """An object; ``failover`` False means an invalid one is not replaced (its array drops it)."""

    fields: dict[str, Value | Obj | Arr]
    failover: bool = True
    optional: frozenset[str] = frozenset()  # fields with a plain default: filled silently
    # Mockoon replaces a data bucket or callback that is not an object by an empty array (its
    # failover is the environment's default list), which nothing can serve: we drop it instead
    drop_non_object: bool = False


@dataclass(frozen=True)
class Arr:
    items: Obj


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


def _s(default: str, allow_empty: bool = True) -> Value:
    return Value(_string(allow_empty), _const(default), "a string" if allow_empty else "a non-empty string")


def _b(default: bool) -> Value:
    return Value(_boolean, _const(default), "true or false")


def _n(default: int, low: float | None = None, high: float | None = None) -> Value:
    expected = ("a number" if low is None else f"a number of at least {low}" if high is None
                else f"a number from {low} to {high}")
    return Value(_number(low, high), _const(default), expected)


def _e(default: str | None, *allowed: str | None) -> Value:
    return Value(_one_of(*allowed), _const(default), "one of " + ", ".join(
        "null" if a is None else repr(a) for a in allowed))


UUID = Value(_uuid, _new_uuid, "a UUID")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "propfind", "proppatch", "move", "copy",
           "mkcol", "lock", "unlock")
BODY_TYPES = ("INLINE", "DATABUCKET", "FILE")

_HEADER = Obj({"key": _s(""), "value": _s("")})
_RULE = Obj({
    "target": _e("body", "body", "query", "header", "cookie", "params", "path", "method", "request_number",
                 "global_var", "data_bucket", "templating"),
    "modifier": _s(""),
    "value": _s(""),
    "invert": _b(False),
    "operator": _e("equals", "equals", "regex", "regex_i", "null", "empty_array", "array_includes",
                   "valid_json_schema"),
})
_INVOCATION = Obj({"uuid": UUID, "latency": _n(0)}, failover=False,
                  optional=frozenset({"latency"}))
_RESPONSE = Obj({
    "uuid": UUID,
    "body": _s("{}"),
    "latency": _n(0, 0),
    "statusCode": _n(200, 100, 999),
    "label": _s(""),
    "headers": Arr(_HEADER),
    "bodyType": _e("INLINE", *BODY_TYPES),
    "filePath": _s(""),
    "databucketID": _s(""),
    "sendFileAsBody": _b(False),
    "rules": Arr(_RULE),
    "rulesOperator": _e("OR", "OR", "AND"),
    "disableTemplating": _b(False),
    "fallbackTo404": _b(False),
    "default": _b(False),
    "crudKey": _s("id", allow_empty=False),
    "callbacks": Arr(_INVOCATION),
})
_ROUTE = Obj({
    "uuid": UUID,
    "type": _e("http", "http", "crud", "ws"),
    "documentation": _s(""),
    "method": _e("get", "", "all", *METHODS),
    "endpoint": _s(""),
    "responses": Arr(_RESPONSE),
    "responseMode": _e(None, None, "RANDOM", "SEQUENTIAL", "DISABLE_RULES", "FALLBACK"),
    "streamingMode": _e(None, None, "UNICAST", "BROADCAST"),
    "streamingInterval": _n(0, 0),
})
_CHILD = Obj({"uuid": UUID, "type": _e(None, "route", "folder")}, failover=False)
_FOLDER = Obj({"uuid": UUID, "name": _s("New folder"), "children": Arr(_CHILD)})
_BUCKET = Obj({"uuid": UUID, "id": Value(_string(), _short_id, "a string"), "name": _s("New data"),
               "documentation": _s(""), "value": _s("[\n]")}, drop_non_object=True)
_CALLBACK = Obj({
    "uuid": UUID,
    "id": Value(_string(), _short_id, "a string"),
    "name": _s("Callback", allow_empty=False),
    "documentation": _s(""),
    "method": _e("post", *METHODS),
    "uri": _s(""),
    "headers": Arr(_HEADER),
    "body": _s(""),
    "bodyType": _e("INLINE", *BODY_TYPES),
    "filePath": _s(""),
    "sendFileAsBody": _b(True),
    "databucketID": _s(""),
}, drop_non_object=True)
_TLS = Obj({"enabled": _b(False), "type": _e("CERT", "CERT", "PFX"), "pfxPath": _s(""),
            "certPath": _s(""), "keyPath": _s(""), "caPath": _s(""), "passphrase": _s("")})


def _environment(highest: int) -> Obj:
    return Obj({
        "uuid": UUID,
        "lastMigration": _n(highest),
        "name": _s("New environment"),
        "endpointPrefix": _s(""),
        "latency": _n(0, 0),
        "port": _n(3000, 0, 65535),
        "hostname": _s(""),
        "rootChildren": Arr(_CHILD),
        "folders": Arr(_FOLDER),
        "routes": Arr(_ROUTE),
        "proxyMode": _b(False),
        "proxyHost": _s(""),
        "proxyRemovePrefix": _b(False),
        "tlsOptions": _TLS,
        "cors": _b(True),
        "headers": Arr(_HEADER),
        "proxyReqHeaders": Arr(_HEADER),
        "proxyResHeaders": Arr(_HEADER),
        "data": Arr(_BUCKET),
        "callbacks": Arr(_CALLBACK),
    })


# Our Structs keep whole numbers where Mockoon's schema allows any number.
_WHOLE_NUMBERS = frozenset({"latency", "statusCode", "port", "streamingInterval", "lastMigration"})


# --- the interpreter -------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _show(value: Any) -> str:
    text = msgspec.json.encode(value).decode() if not isinstance(value, dict | list) else _kind(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Repairer:
    def __init__(self) -> None:
        self.repairs: list[Repair] = []
        # where each kept folder child came from in the input, for reference repairs
        self.child_paths: dict[int, tuple[str, Any]] = {}

    def note(self, code: RepairCode, path: str, message: str) -> None:
        self.repairs.append(Repair(code=code, path=path, message=message))

    def defaulted(self, schema: Obj) -> dict[str, Any]:
        return {name: self.default_of(spec) for name, spec in schema.fields.items()}

    def default_of(self, spec: Value | Obj | Arr) -> Any:
        if isinstance(spec, Value):
            return spec.default()
        if isinstance(spec, Arr):
            return []
        return self.defaulted(spec)

    def object(self, value: Any, schema: Obj, path: str) -> dict[str, Any] | None:
        """The repaired object, or None when it is invalid and has no failover (then it is dropped)."""
        if not isinstance(value, dict):
            if schema.failover and not schema.drop_non_object:
                self.note("REPAIR_DEFAULT", path, f"expected an object, got {_kind(value)}: replaced by Mockoon's default")
                return self.defaulted(schema)
            return None
        if not schema.failover:
            return self._strict_object(value, schema, path)
        out: dict[str, Any] = {}
        missing: list[str] = []
        for name, spec in schema.fields.items():
            where = f"{path}.{name}"
            if name not in value:
                out[name] = self.default_of(spec)
                if name not in schema.optional:
                    missing.append(name)
            elif isinstance(spec, Value):
                out[name] = self.value(value[name], spec, where, name)
            elif isinstance(spec, Arr):
                out[name] = self.array(value[name], spec, where)
            else:
                out[name] = self.object(value[name], spec, where)
        if missing:
            self.note("REPAIR_DEFAULT", path, f"missing {', '.join(missing)}: Mockoon's default"
                      f"{'s are' if len(missing) > 1 else ' is'} used")
        return out

    def _strict_object(self, value: dict[str, Any], schema: Obj, path: str) -> dict[str, Any] | None:
        """Objects without failover (folder children, callback invocations) are kept only if valid;
        their uuid still takes a new one when it is not a UUID, as in Mockoon."""
        out: dict[str, Any] = {}
        for name, spec in schema.fields.items():
            assert isinstance(spec, Value)
            if name not in value:
                if name not in schema.optional and spec is not UUID:
                    return None
                out[name] = spec.default()
                continue
            ok, kept = spec.check(value[name])
            if not ok and spec is not UUID:
                return None
            out[name] = kept if ok else spec.default()
        if "uuid" not in value:
            self.note("REPAIR_DEFAULT", path, "missing uuid: a new one is used")
        elif out["uuid"] != value["uuid"]:
            self.note("REPAIR_DEFAULT", f"{path}.uuid", f"{_show(value['uuid'])} is not a UUID: replaced by a new one")
        if isinstance(out.get("latency"), float):
            out["latency"] = self._whole(out["latency"], f"{path}.latency")
        return out

    def value(self, value: Any, spec: Value, path: str, name: str) -> Any:
        ok, kept = spec.check(value)
        if not ok:
            replacement = spec.default()
            shown = "a new one" if spec is UUID else _show(replacement)
            self.note("REPAIR_DEFAULT", path, f"{_show(value)} is not {spec.expected}: replaced by {shown}")
            return replacement
        if name in _WHOLE_NUMBERS and isinstance(kept, float):
            return self._whole(kept, path)
        return kept

    def _whole(self, number: float, path: str) -> int:
        whole = math.floor(number)
        self.note("REPAIR_ROUND", path, f"{number} is not a whole number: {whole} is used")
        return whole

    def array(self, value: Any, spec: Arr, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.note("REPAIR_DEFAULT", path, f"expected an array, got {_kind(value)}: replaced by an empty array")
            return []
        out = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            repaired = self.object(item, spec.items, where)
            if repaired is None:
                self.note("REPAIR_DROP", where, f"{_show(item)} is not a valid item: dropped")
                continue
            if spec.items is _CHILD:
                self.child_paths[id(repaired)] = (where, item.get("uuid"))
            out.append(repaired)
        return out

    # --- references, after the schema (Mockoon's repairRefs) ---------------------------
    def references(self, env: dict[str, Any]) -> None:
        """Each route and folder is listed once, under a folder or at the root; references to
        nothing are dropped, unlisted routes and folders are added at the root."""
        unlisted: dict[str, dict[str, int]] = {"route": {}, "folder": {}}  # uuid -> first index, in order
        for kind, plural in (("route", "routes"), ("folder", "folders")):
            for index, item in enumerate(env[plural]):
                unlisted[kind].setdefault(item["uuid"], index)
        known = {kind: set(found) for kind, found in unlisted.items()}

        def keep(children: list[dict[str, Any]], dropped: list[str]) -> list[dict[str, Any]]:
            kept = []
            for child in children:
                kind, ref = child["type"], child["uuid"]
                if unlisted[kind].pop(ref, None) is not None:
                    kept.append(child)
                    continue
                why = "is listed already" if ref in known[kind] else "does not exist"
                where, given = self.child_paths.get(id(child), ("$", ref))
                dropped.append(where)
                self.note("REPAIR_DROP", where, f"{kind} {_show(given)} {why}: reference dropped")
            return kept

        dropped: list[str] = []
        for folder in env["folders"]:
            folder["children"] = keep(folder["children"], dropped)
        env["rootChildren"] = keep(env["rootChildren"], dropped)
        # a dropped reference says it all: no separate word about its replaced uuid (a set, and each
        # repair's own prefixes: comparing every repair with every drop took minutes on 13,000 routes)
        gone = set(dropped)
        self.repairs = [r for r in self.repairs if not _under(r.path, gone)]
        for kind, plural in (("folder", "folders"), ("route", "routes")):
            for ref, index in unlisted[kind].items():
                env["rootChildren"].append({"type": kind, "uuid": ref})
                self.note("REPAIR_ATTACH", f"$.{plural}[{index}]",
                          f"{kind} {ref!r} is in no folder and not in rootChildren: added at the root")


def _under(path: str, parents: set[str]) -> bool:
    """Whether ``path`` is a field somewhere below one of ``parents`` (``$.a[1].b`` is below ``$.a[1]``)."""
    dot = path.find(".", 2)
    while dot != -1:
        if path[:dot] in parents:
            return True
        dot = path.find(".", dot + 1)
    return False


def repair_environment(env: dict[str, Any], highest: int) -> tuple[dict[str, Any], list[Repair]]:
    """Mockoon's repairing validation of a migrated environment object: a new object, and what changed.

    Unknown fields are dropped silently (Mockoon strips them without a word, valid or not)."""
    repairer = _Repairer()
    repaired = repairer.object(env, _environment(highest), "$")
    assert repaired is not None
    repairer.references(repaired)
    return repaired, repairer.repairs
