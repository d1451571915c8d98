"""Upgrade environments written by older Mockoon versions to the current schema.

Each migration is a small step on the raw JSON dict (old shapes do not fit the
current Structs), registered in ``MIGRATIONS`` under the ``lastMigration`` id Mockoon
gave it. ``migrate`` applies every step above the environment's own id, in order,
and records what the app would have kept outside the file (disabled routes,
collapsed folders) in a ``MigrationReport``.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .environment import HIGHEST_MIGRATION
from .errors import UnsupportedSchemaVersion
from .repair import Repair

Env = dict[str, Any]


@dataclass
class MigrationReport:
    """Facts a migration moved out of the environment file (Mockoon keeps them in app settings)."""

    from_version: int
    to_version: int
    disabled_routes: list[str] = field(default_factory=list)
    collapsed_folders: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)  # filled by migrate and the schema repair


class _Malformed(TypeError):
    """The data has a shape on which Mockoon's own migration throws (a JavaScript TypeError)."""


def _items(container: Any, what: str) -> list[dict[str, Any]]:
    """The objects of an array a migration walks; like Mockoon's ``forEach``, anything else fails."""
    if not isinstance(container, list):
        raise _Malformed(f"{what} is not an array")
    for item in container:
        if not isinstance(item, dict):
            raise _Malformed(f"an item of {what} is not an object")
    return container


def _routes(env: Env) -> Iterator[dict[str, Any]]:
    yield from _items(env.get("routes"), "routes")


def _responses(env: Env) -> Iterator[dict[str, Any]]:
    for route in _routes(env):
        yield from _items(route.get("responses"), "a route's responses")


def _rules(env: Env) -> Iterator[dict[str, Any]]:
    for response in _responses(env):
        yield from _items(response.get("rules"), "a response's rules")


def _set_missing(target: dict[str, Any], key: str, value: Any) -> None:
    """JavaScript's ``??=``: only a missing or null value is replaced."""
    if target.get(key) is None:
        target[key] = value


def _set_falsy(target: dict[str, Any], key: str, value: Any) -> None:
    """JavaScript's ``if (!x) x = value``: any falsy value is replaced."""
    if not target.get(key):
        target[key] = value


def _new_uuid() -> str:
    return str(uuid.uuid4())


# --- the steps, by Mockoon migration id ------------------------------------------------


def _m1(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "proxyMode", False)
    _set_falsy(env, "proxyHost", "")
    _set_falsy(env, "https", False)


def _m2(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "cors", True)
    for route in _routes(env):
        _set_falsy(route, "uuid", _new_uuid())
        custom = route.get("customHeaders")
        if isinstance(custom, list):
            if not any(isinstance(h, dict) and h.get("key") == "Content-Type" for h in custom):
                custom.insert(0, {"key": "Content-Type", "value": route.get("contentType")})
            route.pop("contentType", None)


def _m3(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_falsy(route, "uuid", _new_uuid())


def _m4(env: Env, report: MigrationReport) -> None:
    if not env.get("headers"):
        env["headers"] = [{"key": "", "value": ""}]
    for route in _routes(env):
        file = route.get("file")
        if isinstance(file, dict) and file.get("sendAsBody") is None:
            file["sendAsBody"] = False
        _set_missing(route, "documentation", "")
        if route.get("customHeaders"):
            route["headers"] = route.pop("customHeaders")


def _m5(env: Env, report: MigrationReport) -> None:
    env.pop("duplicates", None)
    for route in _routes(env):
        file = route.pop("file", None)
        route["filePath"] = file.get("path", "") if isinstance(file, dict) else ""
        route["sendFileAsBody"] = file.get("sendAsBody", False) if isinstance(file, dict) else False
        route.pop("duplicates", None)


def _m6(env: Env, report: MigrationReport) -> None:
    """Routes carried a single response inline; move it into ``responses``."""
    for route in _routes(env):
        status = route.pop("statusCode", None)
        route["responses"] = [
            {
                "uuid": _new_uuid(),
                "statusCode": "200" if status is None else status,
                "label": "",
                "latency": route.pop("latency", None),
                "filePath": route.pop("filePath", None),
                "sendFileAsBody": route.pop("sendFileAsBody", None),
                "headers": route.pop("headers", None),
                "body": route.pop("body", None),
                "rules": [],
            }
        ]


def _m7(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        response["uuid"] = _new_uuid()


def _m8(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        route["enabled"] = True


def _m9(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_falsy(response, "label", "")


def _m10(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "proxyReqHeaders", [{"key": "", "value": ""}])
    _set_falsy(env, "proxyResHeaders", [{"key": "", "value": ""}])


def _parse_int_like_js(value: Any) -> int | None:
    """``parseInt(x, 10)``: leading digits of the string form, else NaN (None)."""
    match = re.match(r"\s*([+-]?\d+)", str(value))
    return int(match.group(1)) if match else None


def _m11(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "disableTemplating", False)
        parsed = _parse_int_like_js(response.get("statusCode"))
        response["statusCode"] = 200 if parsed is None else parsed


def _m12(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "rulesOperator", "OR")


def _m13(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_missing(route, "randomResponse", False)


def _m14(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_missing(route, "sequentialResponse", False)


def _m15(env: Env, report: MigrationReport) -> None:
    _set_missing(env, "proxyRemovePrefix", False)


def _m16(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "hostname", "0.0.0.0")


def _m17(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "fallbackTo404", False)


def _m18(env: Env, report: MigrationReport) -> None:
    for rule in _rules(env):
        if rule.get("isRegex"):
            rule["operator"] = "regex"
        _set_missing(rule, "operator", "equals")
        rule.pop("isRegex", None)


def _m19(env: Env, report: MigrationReport) -> None:
    if not env.get("tlsOptions"):
        env["tlsOptions"] = {
            "enabled": bool(env.get("https")),
            "type": "CERT",
            "pfxPath": "",
            "certPath": "",
            "keyPath": "",
            "caPath": "",
            "passphrase": "",
        }
    env.pop("https", None)


def _m20(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        for index, response in enumerate(_items(route.get("responses"), "a route's responses")):
            if "default" not in response:
                response["default"] = index == 0


def _m21(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        if route.get("responseMode") is None:
            if route.get("sequentialResponse"):
                route["responseMode"] = "SEQUENTIAL"
            elif route.get("randomResponse"):
                route["responseMode"] = "RANDOM"
            else:
                route["responseMode"] = None
        route.pop("sequentialResponse", None)
        route.pop("randomResponse", None)


def _m22(env: Env, report: MigrationReport) -> None:
    for rule in _rules(env):
        _set_missing(rule, "invert", False)


def _m23(env: Env, report: MigrationReport) -> None:
    _set_missing(env, "data", [])


def _m24(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "databucketID", "")
        if "bodyType" not in response:
            response["bodyType"] = "FILE" if response.get("filePath") else "INLINE"


def _m25(env: Env, report: MigrationReport) -> None:
    _set_missing(env, "folders", [])
    if env.get("rootChildren") is None:
        env["rootChildren"] = [{"type": "route", "uuid": r.get("uuid")} for r in _routes(env)]


def _m26(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_missing(route, "type", "http")


def _m27(env: Env, report: MigrationReport) -> None:
    if env.get("hostname") == "0.0.0.0":
        env["hostname"] = ""


def _m28(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "crudKey", "id")


def _m29(env: Env, report: MigrationReport) -> None:
    for bucket in _items(env["data"], "data") if env.get("data") else []:
        if isinstance(bucket.get("value"), str):
            bucket["value"] = rename_faker_v7_methods(bucket["value"])
    for response in _responses(env):
        if isinstance(response.get("body"), str):
            response["body"] = rename_faker_v7_methods(response["body"])


def _m30(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "callbacks", [])
    for route in _items(env["routes"], "routes") if env.get("routes") else []:  # guarded in Mockoon
        for response in _items(route["responses"], "a route's responses") if route.get("responses") else []:
            response["callbacks"] = []


def _m31(env: Env, report: MigrationReport) -> None:
    disabled = []
    for route in _routes(env):
        if not route.pop("enabled", None):
            disabled.append(route.get("uuid", ""))
    report.disabled_routes.extend(disabled)  # only once the whole step succeeded, as in Mockoon


def _m32(env: Env, report: MigrationReport) -> None:
    collapsed = []
    for folder in _items(env.get("folders"), "folders"):
        if folder.pop("collapsed", None):
            collapsed.append(folder.get("uuid", ""))
    report.collapsed_folders.extend(collapsed)


def _m33(env: Env, report: MigrationReport) -> None:
    for route in _items(env["routes"], "routes") if env.get("routes") else []:  # guarded in Mockoon
        route["streamingMode"] = None
        route["streamingInterval"] = 0


Step = Callable[[Env, MigrationReport], None]

MIGRATIONS: dict[int, Step] = {
    1: _m1, 2: _m2, 3: _m3, 4: _m4, 5: _m5, 6: _m6, 7: _m7, 8: _m8, 9: _m9, 10: _m10,
    11: _m11, 12: _m12, 13: _m13, 14: _m14, 15: _m15, 16: _m16, 17: _m17, 18: _m18,
    19: _m19, 20: _m20, 21: _m21, 22: _m22, 23: _m23, 24: _m24, 25: _m25, 26: _m26,
    27: _m27, 28: _m28, 29: _m29, 30: _m30, 31: _m31, 32: _m32, 33: _m33,
}  # fmt: skip
assert max(MIGRATIONS) == HIGHEST_MIGRATION


# --- faker v7 -> v8 method renames inside templates -------------------------------------

_RENAMES: dict[str, str | list[str]] = json.loads(
    resources.files(__package__).joinpath("faker_v8_renames.json").read_text()
)


def _rename_pattern(old: str) -> re.Pattern[str]:
    # The old name sits inside a mustache that calls faker; like Mockoon, the dots of the
    # old name are not escaped (they match any character).
    return re.compile(r"(\{{2,3}[^{]*faker[^}]*)" + old + r"([^})]*)([^}]*\}{2,3})")


_RENAME_TABLE: list[tuple[re.Pattern[str], str]] = []
for _old, _new in _RENAMES.items():
    if isinstance(_new, list):
        _replacement = r"\g<1>" + _new[0] + r"\g<2> " + " ".join(_new[1:]) + r"\g<3>"
    elif _new == "":
        _replacement = ""
    else:
        _replacement = r"\g<1>" + _new + r"\g<2>\g<3>"
    _RENAME_TABLE.append((_rename_pattern(_old), _replacement))


def rename_faker_v7_methods(template: str) -> str:
    """Rewrite faker 7 method names to their faker 8 names; removed methods drop the mustache."""
    if not template or "faker" not in template:
        return template
    for pattern, replacement in _RENAME_TABLE:
        template = pattern.sub(replacement, template)
    return template


# --- driver ------------------------------------------------------------------------------


def schema_version(value: Any) -> float | None:
    """The migration id Mockoon compares ``lastMigration`` as: numbers and decimal strings, null as 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    number: float | None = None
    if isinstance(value, str):
        try:
            number = float(value) if value.strip() else 0
        except ValueError:
            return None
    elif isinstance(value, int | float):
        number = value
    if number is None or not math.isfinite(number):
        return None
    return int(number) if float(number).is_integer() else number


def migrate(env: Env, highest: int = HIGHEST_MIGRATION) -> MigrationReport:
    """Upgrade ``env`` in place to schema ``highest``; refuse environments newer than it.

    A step that fails on malformed data stops the migration, as in Mockoon: what earlier steps
    did stays, ``lastMigration`` becomes ``highest`` and the schema repair fills in the rest.
    A missing ``lastMigration`` migrates from 0 (Mockoon would skip every step)."""
    found = schema_version(env.get("lastMigration"))
    if found is not None and found > highest:
        raise UnsupportedSchemaVersion(found, highest)
    start = max(0, math.floor(found)) if found is not None else highest
    report = MigrationReport(from_version=start, to_version=max(start, highest))
    if found is not None and found < 0:  # said where it is, not left to a later step's complaint
        report.repairs.append(Repair(
            code="REPAIR_MIGRATION", path="$.lastMigration",
            message=f"{env.get('lastMigration')!r} is below the first migration: like Mockoon, every "
                    f"migration from 1 to {highest} is applied"))
    for migration_id in range(start + 1, highest + 1):
        try:
            MIGRATIONS[migration_id](env, report)
        except (AttributeError, TypeError, KeyError, IndexError) as error:
            report.repairs.append(Repair(
                code="REPAIR_MIGRATION", path="$",
                message=f"migration {migration_id} failed on malformed data ({error}): like Mockoon, the "
                        f"environment is marked as schema {highest} and repaired with defaults"))
            env["lastMigration"] = highest
            break
        env["lastMigration"] = migration_id
    return report
